"""Benchmark: scene detection, ours against PySceneDetect's ContentDetector on the same files.

Videos (generated once under ``.bench/``, 1280x720, 30 fps, H.264): a 2-minute unit of
photographs from scikit-image panned like a camera, moving test patterns and still cards, joined
by hard cuts (including a jump cut within one photograph and a 1.5 s insert shot between two
shots of the same photograph), fades through black (ffmpeg ``xfade=fadeblack``, 1 s) and
cross-dissolves (``xfade=fade``, 1 s), looped five times by stream copy to 10 minutes (every
loop join is one more hard cut). Encodings:

- ``x264``: libx264 defaults (``-preset medium``, keyframes at scene cuts, GOP up to 250);
- ``gop10s``: a fixed 10 s GOP, ``sc_threshold 0`` (no keyframe at cuts): the coarse pass
  must find cuts inside intervals;
- ``gop20s``: a fixed 20 s GOP: every interval is over ``LONG_GOP_SECONDS``, so this measures
  the full-decode fallback.

Plus the frame benchmark's video (``make_long_video``: test patterns, a hard cut every 15 s, no
fades), for continuity with the figures measured on it before (README, "Scene detection and faces").

Each method runs in its own child process (time from before its imports, peak memory VmHWM).
A detected transition matches a true one within ±0.5 s (each used once); precision and recall
count cuts, fades and dissolves together, and ``exact`` is the share of matched hard cuts found
on their exact frame.

    python -m benchmarks.scenes                # the three 10-minute videos
    python -m benchmarks.scenes --quick        # the 2-minute unit of each
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks._common import CACHE, ROOT, long_video, module_command, peak_rss_mb

FPS, SIZE, UNIT_SECONDS, LOOPS, TOLERANCE, XFADE = 30, (1280, 720), 120, 5, 0.5, 1.0
ENCODINGS = {"x264": [], "gop10s": ["-g", "300", "-keyint_min", "300", "-sc_threshold", "0"]}
ENCODINGS["gop20s"] = ["-g", "600", "-keyint_min", "600", "-sc_threshold", "0"]
#: (source, seconds, how the segment begins). ``photo:NAME[:zoom]`` pans across a scikit-image
#: picture (``zoom``: a closer framing of it, for jump cuts).
UNIT = [
    ("testsrc2", 6, "cut"),
    ("photo:astronaut", 16, "cut"),
    ("photo:astronaut:zoom", 12, "cut"),
    ("photo:coffee", 14, "fade"),
    ("smptebars", 4, "cut"),
    ("photo:rocket", 15, "cut"),
    ("photo:chelsea", 10, "dissolve"),
    ("rgbtestsrc", 1.5, "cut"),
    ("photo:chelsea:zoom", 12, "cut"),
    ("mandelbrot", 6, "cut"),
    ("photo:hubble_deep_field", 12, "fade"),
    ("photo:immunohistochemistry", 0, "dissolve"),  # 0: what makes the unit UNIT_SECONDS long
]
#: Names the cached files after the unit's content, so an edited unit is generated afresh.
TAG = hashlib.sha1(repr(UNIT).encode()).hexdigest()[:8]


def _photo(cache: Path, name: str) -> Path:
    from PIL import Image
    from skimage import data

    path = cache / f"photo_{name}.png"
    if not path.exists():
        Image.fromarray(getattr(data, name)()).convert("RGB").save(path)
    return path


def _segment_chain(src: str, seconds: float, label: str, input_index: int | None) -> str:
    w, h = SIZE
    tail = f"trim=duration={seconds},setpts=PTS-STARTPTS,fps={FPS},settb=1/{FPS}"
    tail += ",format=yuv420p,setsar=1"
    if input_index is None:
        sep = ":" if "=" in src else "="
        return f"{src}{sep}s={w}x{h}:r={FPS},{tail}[{label}]"
    zoom = 2 if src.endswith(":zoom") else 1
    big_w, big_h = int(w * 1.5 * zoom), int(h * 1.5 * zoom)
    pan = (
        f"scale={big_w}:{big_h}:force_original_aspect_ratio=increase,crop={big_w}:{big_h},"
        f"crop={w}:{h}:x='({big_w}-{w})*t/{seconds}':y='({big_h}-{h})*t/{seconds}/2',"
        "noise=alls=5:allf=t"
    )
    return f"[{input_index}:v]{pan},{tail}[{label}]"


def build_unit(cache: Path, path: Path, encoding: list[str]) -> list[tuple[float, str]]:
    """Encode the unit; return its true transitions (time, kind) (a dissolve or fade: its
    middle)."""
    durations = [s for _, s, _ in UNIT]
    overlaps = sum(XFADE for _, _, kind in UNIT[1:] if kind != "cut")
    durations[-1] = UNIT_SECONDS + overlaps - sum(durations[:-1])
    inputs: list[str] = []
    chains: list[str] = []
    for i, ((src, _, _), seconds) in enumerate(zip(UNIT, durations, strict=True)):
        index = None
        if src.startswith("photo:"):
            index = len(inputs) // 6
            inputs += ["-loop", "1", "-framerate", str(FPS), "-i"]
            inputs.append(str(_photo(cache, src.split(":")[1])))
        chains.append(_segment_chain(src, seconds, f"s{i}", index))
    truth: list[tuple[float, str]] = []
    length, current = durations[0], "s0"
    for i, (_, _, kind) in enumerate(UNIT[1:], start=1):
        out = f"j{i}"
        if kind == "cut":
            chains.append(f"[{current}][s{i}]concat=n=2:v=1:a=0,settb=1/{FPS}[{out}]")
            truth.append((length, "cut"))
            length += durations[i]
        else:
            transition = "fadeblack" if kind == "fade" else "fade"
            offset = length - XFADE
            chains.append(
                f"[{current}][s{i}]xfade=transition={transition}:duration={XFADE}:"
                f"offset={offset}[{out}]"
            )
            truth.append((offset + XFADE / 2, kind))
            length += durations[i] - XFADE
        current = out
    from media_analysis_fixtures import run_ffmpeg

    args = [*inputs, "-filter_complex", ";".join(chains), "-map", f"[{current}]"]
    args += ["-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p", *encoding]
    run_ffmpeg([*args, "-t", str(UNIT_SECONDS), str(path)])
    return truth


def video_for(cache: Path, encoding: str, loops: int) -> tuple[Path, list[tuple[float, str]]]:
    """The cached benchmark video and its true transitions."""
    from media_analysis_fixtures import run_ffmpeg

    cache.mkdir(parents=True, exist_ok=True)
    unit = cache / f"scenes_{TAG}_{UNIT_SECONDS}s_{encoding}.mp4"
    truth_file = cache / f"scenes_{TAG}_truth.json"
    if not unit.exists() or not truth_file.exists():
        print(f"generating {unit.name} (a few minutes) ...", flush=True)
        part = unit.with_suffix(".part.mp4")
        truth_file.write_text(json.dumps(build_unit(cache, part, ENCODINGS[encoding])))
        part.rename(unit)
    unit_truth = [(t, k) for t, k in json.loads(truth_file.read_text())]
    truth = [(t + n * UNIT_SECONDS, k) for n in range(loops) for t, k in unit_truth]
    truth += [(n * UNIT_SECONDS, "cut") for n in range(1, loops)]
    if loops == 1:
        return unit, sorted(truth)
    path = cache / f"scenes_{TAG}_{loops * UNIT_SECONDS}s_{encoding}.mp4"
    if not path.exists():
        run_ffmpeg(["-stream_loop", str(loops - 1), "-i", str(unit), "-c", "copy", str(path)])
    return path, sorted(truth)


def frames_video(cache: Path, seconds: int) -> tuple[Path, list[tuple[float, str]]]:
    """The frame benchmark's video (``make_long_video``: moving and still test patterns, a hard
    cut every 15 s, no fades), the same file as ``benchmarks/frames.py``'s."""
    path = long_video(cache, seconds, (1280, 720), 30)
    return path, [(float(t), "cut") for t in range(15, seconds, 15)]


def child(method: str, video: Path) -> None:
    """Run one detector in this (child) process; print its transitions and time as JSON."""
    start, cpu = time.perf_counter(), time.process_time()
    extra: dict[str, object] = {}
    if method == "pyscenedetect":
        from scenedetect import ContentDetector, detect

        scenes = detect(str(video), ContentDetector())
        found = [(s[0].get_seconds(), "cut") for s in scenes[1:]]
    else:
        from media_analysis_dagster.media.scenes import detect_scenes_and_motion

        result = detect_scenes_and_motion(video, full_decode=method == "ours-full")
        found = list(zip(result.cut_times, result.cut_kinds, strict=True))
        extra = {
            "decoded": result.frames_decoded,
            "gops": f"{result.gops_decoded}/{result.gops}",
        }
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "found": found, "peak_mb": peak_rss_mb(), **extra}
        )
    )


def score(found: list, truth: list) -> tuple[float, float, float]:
    """Precision, recall (one-to-one matches within TOLERANCE) and the share of matched hard
    cuts placed on their exact frame."""
    pairs = sorted(
        (abs(f[0] - t[0]), i, j)
        for i, f in enumerate(found)
        for j, t in enumerate(truth)
        if abs(f[0] - t[0]) <= TOLERANCE
    )
    used_f: set[int] = set()
    used_t: set[int] = set()
    exact = cuts = 0
    for dist, i, j in pairs:
        if i in used_f or j in used_t:
            continue
        used_f.add(i)
        used_t.add(j)
        if truth[j][1] == "cut":
            cuts += 1
            exact += dist < 0.5 / FPS
    precision = len(used_f) / len(found) if found else 1.0
    return precision, len(used_t) / len(truth) if truth else 1.0, exact / cuts if cuts else 1.0


def run(method: str, video: Path) -> dict:
    with tempfile.TemporaryDirectory():
        cmd = module_command("benchmarks.scenes", "--child", method, str(video))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode:
        raise RuntimeError(f"{method} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 2-minute unit, not 10 min")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; best time kept")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--encodings", nargs="+", default=list(ENCODINGS), choices=ENCODINGS)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["ours", "pyscenedetect"],
        choices=["ours", "ours-full", "pyscenedetect"],
    )
    parser.add_argument("--generate", action="store_true", help="only make the videos")
    parser.add_argument(
        "--no-design-video",
        dest="frames_video",
        action="store_false",
        help="leave out the frame benchmark's hard-cuts-only video",
    )
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "VIDEO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    rows: list[tuple[str, str, dict, float, float, float]] = []
    videos = [video_for(args.cache, e, 1 if args.quick else LOOPS) for e in args.encodings]
    if args.frames_video:
        videos.append(frames_video(args.cache, 120 if args.quick else 600))
    for video, truth in videos:
        if args.generate:
            continue
        kinds = {k: sum(1 for _, kk in truth if kk == k) for k in ("cut", "fade", "dissolve")}
        print(f"{video.name}: {kinds}", flush=True)
        for method in args.methods:
            results = [run(method, video) for _ in range(args.repeat)]
            best = min(results, key=lambda r: r["seconds"])
            p, r, exact = score(best["found"], truth)
            rows.append((video.name, method, best, p, r, exact))
    print(
        "\n| video | method | seconds | CPU s | peak MB | P | R | exact cuts "
        "| PySceneDetect/this (wall, CPU) | frames decoded, intervals decoded |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    base = {v: b for v, m, b, *_ in rows if m == "pyscenedetect"}
    for name, method, best, p, r, exact in rows:
        ratio = "-"
        if name in base:
            ratio = f"{base[name]['seconds'] / best['seconds']:.1f}x, "
            ratio += f"{base[name]['cpu'] / best['cpu']:.1f}x"
        info = f"{best['decoded']}, {best['gops']}" if "decoded" in best else ""
        print(
            f"| {name} | {method} | {best['seconds']:.2f} | {best['cpu']:.2f} "
            f"| {best['peak_mb']:.0f} | {p:.2f} | {r:.2f} | {exact:.2f} | {ratio} | {info} |"
        )


if __name__ == "__main__":
    main()
