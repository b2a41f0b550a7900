"""Benchmark: media-analysis sheets (18 frames, 3 sheets) against the keyframe floor and ffmpeg.

How long ``media-analysis sheets`` takes to make three 2x3 contact sheets of a video, as a
ratio of PyAV's keyframe-only floor, and how many of its tiles cannot be read.

Methods, each run in its own child process so its peak memory (VmHWM) can be read alone:

- ``sheets``           extract_frames (default mode, frame choice on) + build_contact_sheets,
                       the calls ``media-analysis sheets`` makes (``sheets.py``)
- ``sheets-accurate``  the same with ``accurate=True`` (the frame shown at each target)
- ``ffmpeg-tile``      ``ffmpeg -vf fps=18/duration,scale,tile=2x3`` (decodes the whole file)
- ``floor``            PyAV keyframe-only: seek, keep the first decoded frame, same JPEGs and sheets

Times for the Python methods start before their first import of PyAV/Pillow and exclude only
the interpreter start; ffmpeg's is the wall time of its process. Rounds interleave the methods
so a burst of load on a shared machine hits them alike; each method's best and median time are
printed, and "sheets / keyframe floor" as the ratio of the best times, of the medians and the
median of the per-round ratios.

Tiles: every frame a Python method wrote is judged after its time is taken, with the measure
the frame choice itself uses (``frame_quality.picture_defect``, its module docstring has the
thresholds): ``dark`` (near-black but for a watermark, a caption or a title; the middle of a
fade), ``flat`` (one colour with next to no edges), ``blurred`` (the Laplacian much weaker than
that of the half-size picture).

Videos, generated once under ``.bench/``:

- test patterns with a hard cut every 15 s (``media_analysis_fixtures.make_long_video``),
  10 min 1280x720 and 2 h 640x360, 30 fps;
- real footage with fades through black, when ``--real-media`` (default
  ``$MEDIA_ANALYSIS_REAL_MEDIA_DIR``) holds ``pyscenedetect/testvideo.mp4`` (1280x720, 24 s):
  looped to 10 min by stream copy (its own keyframes, 1 to 10 s apart) and re-encoded by x264
  with its default settings (a keyframe at most every 8.3 s and at most fades).

    python -m benchmarks.frames                       # every video, 5 rounds
    python -m benchmarks.frames --quick               # 2 min and 20 min; real loops of 2 min
    python -m benchmarks.frames --videos real-x264 --methods sheets floor --repeat 9
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._common import CACHE, ROOT, long_video, module_command, peak_rss_mb

if TYPE_CHECKING:
    from media_analysis_dagster.media.frames import ExtractedFrame
    from media_analysis_dagster.media.probe import VideoInfo

METHODS = ["sheets", "sheets-accurate", "ffmpeg-tile", "floor"]
COUNT, COLS, ROWS, THUMB = 18, 2, 3, 640
REAL_CLIP = ("pyscenedetect", "testvideo.mp4")
REAL_SECONDS = 24.024  # testvideo.mp4: 720 frames at 29.97 fps


def _floor_frames(video: Path, out: Path, info: VideoInfo) -> list[ExtractedFrame]:
    """Keyframe-only extraction: the cheapest way to get 18 pictures by seeking."""
    import av

    from media_analysis_dagster.media.frames import ExtractedFrame, frame_targets, write_frame

    frames = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, target in enumerate(frame_targets(info.duration, COUNT)):
            assert stream.time_base is not None  # always set for video
            container.seek(int(target / stream.time_base), backward=True, stream=stream)
            frame = next(container.decode(stream))
            path = out / f"frame_{i + 1:04d}.jpg"
            w, h = write_frame(frame, info, path, 1280, 90)
            t = float(frame.time)
            frames.append(ExtractedFrame(i, target, t, round(t * info.fps), True, path, w, h))
    return frames


def _tiles(frames: list[ExtractedFrame]) -> dict[str, int]:
    """How many written frames are dark, flat or blurred (`picture_defect`)."""
    from PIL import Image

    from media_analysis_dagster.media.frame_quality import picture_defect

    counts: dict[str, int] = {}
    for f in frames:
        with Image.open(f.path) as image:
            defect = picture_defect(image)
        if defect is not None:
            counts[defect] = counts.get(defect, 0) + 1
    return counts


def child(method: str, video: Path, out: Path) -> None:
    """Run one method in this (child) process and print its time as JSON."""
    start = time.perf_counter()
    from media_analysis_dagster.media.contact_sheets import SheetHeader, build_contact_sheets
    from media_analysis_dagster.media.frames import extract_frames
    from media_analysis_dagster.media.probe import probe_video

    info = probe_video(video)
    if method == "floor":
        frames = _floor_frames(video, out, info)
    else:
        accurate = method == "sheets-accurate"
        frames = extract_frames(video, out, count=COUNT, accurate=accurate, info=info)
    header = SheetHeader(video.name, info.duration, info.display_width, info.display_height, "h264")
    interval = info.duration / len(frames)
    sheets = build_contact_sheets(
        frames, out, header=header, cols=COLS, rows=ROWS, interval=interval
    )
    seconds = time.perf_counter() - start
    assert len(sheets) == 3
    error = max(abs(f.pts_time - f.target_time) for f in frames)
    reasons: dict[str, int] = {}
    for f in frames:
        if f.selection is not None:
            reasons[f.selection.reason] = reasons.get(f.selection.reason, 0) + 1
    result = {
        "seconds": seconds,
        "max_error": error,
        "peak_mb": peak_rss_mb(),
        "reasons": reasons,
        "tiles": _tiles(frames),
    }
    print(json.dumps(result))


@dataclass
class Runs:
    """One method's rounds on one video."""

    seconds: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    max_error: float | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    tiles: dict[str, int] = field(default_factory=dict)


def run(method: str, video: Path, duration: float) -> dict[str, Any]:
    """Time, peak RSS (MB), largest |time - target|, frame-choice reasons and defective tiles
    of one method in a fresh process."""
    from media_analysis_fixtures import ffmpeg_exe

    out = Path(tempfile.mkdtemp(prefix="bench_"))
    try:
        if method == "ffmpeg-tile":
            vf = f"fps={COUNT}/{duration},scale={THUMB}:-2,tile={COLS}x{ROWS}"
            cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", str(video), "-an", "-vf", vf]
            cmd += ["-frames:v", "3", "-q:v", "3", str(out / "sheet_%02d.jpg")]
        else:
            cmd = module_command("benchmarks.frames", "--child", method, str(video), str(out))
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, peak_rss_mb(proc.pid))
            time.sleep(0.01)
        wall = time.perf_counter() - start
        stdout, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"{method} failed with exit code {proc.returncode}")
        if method == "ffmpeg-tile":
            return {"seconds": wall, "peak_mb": peak}
        data: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
        data["peak_mb"] = max(peak, data["peak_mb"])
        return data
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _ratios(a: Runs, b: Runs) -> str:
    best = min(a.seconds) / min(b.seconds)
    median = statistics.median(a.seconds) / statistics.median(b.seconds)
    paired = statistics.median(x / y for x, y in zip(a.seconds, b.seconds, strict=True))
    return f"best {best:.2f}x, median {median:.2f}x, per-round median {paired:.2f}x"


def report(name: str, about: str, runs: dict[str, Runs], rounds: int) -> None:
    print(f"\n{name}  ({about}, {COUNT} frames, 3 sheets, {rounds} rounds)")
    print(
        f"{'method':<17}{'best s':>8}{'median s':>10}{'peak MB':>9}{'max |t-target|':>16}"
        f"{'unreadable tiles':>18}{'ffmpeg/this':>13}"
    )
    ff = runs.get("ffmpeg-tile")
    for method, r in runs.items():
        best, median = min(r.seconds), statistics.median(r.seconds)
        err = f"{r.max_error:.3f} s" if r.max_error is not None else "-"
        bad = sum(r.tiles.values())
        tiles = "-" if method == "ffmpeg-tile" else f"{bad}/{COUNT}"
        speed = f"{min(ff.seconds) / best:.1f}x" if ff else "-"
        print(
            f"{method:<17}{best:>8.2f}{median:>10.2f}{r.peak_mb:>9.0f}{err:>16}"
            f"{tiles:>18}{speed:>13}"
        )
    if "sheets" in runs and "floor" in runs:
        print(f"sheets / keyframe floor: {_ratios(runs['sheets'], runs['floor'])}")
    for method, r in runs.items():
        if r.tiles:
            print(f"  {method} unreadable tiles: {r.tiles}")
        if r.reasons:
            print(f"  {method} frame choices: {r.reasons}")


def _real_video(cache: Path, media: Path, seconds: float, encode: bool) -> Path:
    """testvideo.mp4 looped to about ``seconds`` (stream copy, or re-encoded by x264 with its
    default settings), generated on first use."""
    from media_analysis_fixtures import run_ffmpeg

    loops = max(1, round(seconds / REAL_SECONDS))
    kind = "x264" if encode else "copy"
    path = cache / f"real_testvideo_{loops}x_{kind}.mp4"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", flush=True)
        part = path.with_suffix(".part.mp4")
        args = ["-stream_loop", str(loops - 1), "-i", str(media), "-an"]
        if encode:
            args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
        else:
            args += ["-c", "copy"]
        run_ffmpeg([*args, str(part)])
        part.rename(path)
    return path


@dataclass(frozen=True)
class Video:
    """A benchmark video: how to make (or find) it and what it is."""

    about: str
    make: Callable[[], Path]


def videos(args: argparse.Namespace) -> dict[str, Video]:
    """The benchmark videos by name (the real ones only when the clip is found)."""
    short = args.quick
    found: dict[str, Video] = {}
    for name, seconds, size in [
        ("long-720p", 120 if short else 600, (1280, 720)),
        ("long-360p", 1200 if short else 7200, (640, 360)),
    ]:
        about = f"test patterns, {seconds / 60:g} min, {size[0]}x{size[1]}"
        found[name] = Video(about, partial(long_video, args.cache, seconds, size))
    clip = Path(args.real_media, *REAL_CLIP) if args.real_media else None
    if clip is not None and clip.is_file():
        seconds = 120 if short else 600
        for name, encode, what in [
            ("real-copy", False, "stream copy"),
            ("real-x264", True, "x264 re-encode"),
        ]:
            about = f"testvideo.mp4 looped, {what}, about {seconds / 60:g} min, 1280x720"
            found[name] = Video(about, partial(_real_video, args.cache, clip, seconds, encode))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n    python")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="shorter videos (2 and 20 min)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (best and median shown)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="where videos are kept")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument(
        "--videos",
        nargs="+",
        choices=["long-720p", "long-360p", "real-copy", "real-x264"],
        help="which videos (default: all; the real ones need --real-media)",
    )
    parser.add_argument(
        "--real-media",
        default=os.environ.get("MEDIA_ANALYSIS_REAL_MEDIA_DIR"),
        help="folder holding pyscenedetect/testvideo.mp4 (default: $MEDIA_ANALYSIS_REAL_MEDIA_DIR)",
    )
    parser.add_argument(
        "--child", nargs=3, metavar=("METHOD", "VIDEO", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    available = videos(args)
    if not args.videos and not args.real_media:
        print(
            "(no --real-media / MEDIA_ANALYSIS_REAL_MEDIA_DIR: the real-footage videos are skipped)"
        )
    for name in args.videos or list(available):
        if name not in available:
            print(f"\n{name}: skipped, pyscenedetect/testvideo.mp4 not found under --real-media")
            continue
        video, about = available[name].make(), available[name].about
        from media_analysis_dagster.media.probe import probe_video

        duration = probe_video(video).duration
        runs = {m: Runs() for m in args.methods}
        for _ in range(args.repeat):
            for method in args.methods:
                data = run(method, video, duration)
                r = runs[method]
                r.seconds.append(data["seconds"])
                r.peak_mb = max(r.peak_mb, data["peak_mb"])
                r.max_error = data.get("max_error")
                r.reasons, r.tiles = data.get("reasons", {}), data.get("tiles", {})
        report(video.name, about, runs, args.repeat)


if __name__ == "__main__":
    main()
