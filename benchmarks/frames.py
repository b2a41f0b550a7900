"""Benchmark: 18 frames as 3 contact sheets of 2x3, our extraction against ffmpeg and the floor.

Methods, each run in its own child process so its peak memory (VmHWM) can be read alone:

- ``ours``          extract_frames (default mode, frame quality on) + build_contact_sheets
- ``ours-accurate`` the same with ``accurate=True`` (the frame shown at each target)
- ``ffmpeg-tile``   ``ffmpeg -vf fps=18/duration,scale,tile=2x3`` (decodes the whole file)
- ``floor``         PyAV keyframe-only: seek, keep the first decoded frame, same JPEGs and sheets

Times for the Python methods start before their first import of PyAV/Pillow and exclude only
the interpreter start; ffmpeg's is the wall time of its process. Videos are generated once
under ``.bench/`` (looped stream copies, see ``media_analysis_fixtures.make_long_video``).

    python -m benchmarks.frames            # 10 min 1280x720 and 2 h 640x360, both 30 fps
    python -m benchmarks.frames --quick    # 2 min and 20 min
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks._common import CACHE, ROOT, long_video, module_command, peak_rss_mb

if TYPE_CHECKING:
    from media_analysis_dagster.media.probe import VideoInfo

FULL = [(600, (1280, 720)), (7200, (640, 360))]
QUICK = [(120, (1280, 720)), (1200, (640, 360))]
METHODS = ["ours", "ours-accurate", "ffmpeg-tile", "floor"]
COUNT, COLS, ROWS, THUMB = 18, 2, 3, 640


def _floor_frames(video: Path, out: Path, info: VideoInfo) -> list:
    """Keyframe-only extraction: the cheapest way to get 18 pictures by seeking."""
    import av

    from media_analysis_dagster.media.frames import ExtractedFrame, frame_targets, write_frame

    frames = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, target in enumerate(frame_targets(info.duration, COUNT)):
            container.seek(int(target / stream.time_base), backward=True, stream=stream)
            frame = next(container.decode(stream))
            path = out / f"frame_{i + 1:04d}.jpg"
            w, h = write_frame(frame, info, path, 1280, 90)
            t = float(frame.time)
            frames.append(ExtractedFrame(i, target, t, round(t * info.fps), True, path, w, h))
    return frames


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
        accurate = method == "ours-accurate"
        frames = extract_frames(video, out, count=COUNT, accurate=accurate, info=info)
    header = SheetHeader(video.name, info.duration, info.display_width, info.display_height, "h264")
    sheets = build_contact_sheets(frames, out, header=header, cols=COLS, rows=ROWS)
    assert len(sheets) == 3
    error = max(abs(f.pts_time - f.target_time) for f in frames)
    seconds = time.perf_counter() - start
    reasons: dict[str, int] = {}
    for f in frames:
        if f.selection is not None:
            reasons[f.selection.reason] = reasons.get(f.selection.reason, 0) + 1
    print(
        json.dumps(
            {"seconds": seconds, "max_error": error, "peak_mb": peak_rss_mb(), "reasons": reasons}
        )
    )


def run(method: str, video: Path, duration: float) -> tuple[float, float, float | None, dict]:
    """Time, peak RSS (MB), largest |time - target| and frame-choice reasons of one method
    in a fresh process."""
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
            return wall, peak, None, {}
        data = json.loads(stdout.strip().splitlines()[-1])
        return data["seconds"], max(peak, data["peak_mb"]), data["max_error"], data["reasons"]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter videos (2 and 20 min)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; best time kept")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument(
        "--child", nargs=3, metavar=("METHOD", "VIDEO", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    for duration, size in QUICK if args.quick else FULL:
        video = long_video(args.cache, duration, size)
        results = {}
        reasons: dict[str, dict] = {}
        # Rounds interleave the methods, so a burst of load on this shared machine hits them
        # alike; each method keeps its best time.
        runs: dict[str, list] = {m: [] for m in args.methods}
        for _ in range(args.repeat):
            for method in args.methods:
                runs[method].append(run(method, video, duration))
        for method, rs in runs.items():
            results[method] = (min(r[0] for r in rs), max(r[1] for r in rs), rs[0][2])
            reasons[method] = rs[0][3]
        print(f"\n{video.name}  ({duration / 60:g} min, {size[0]}x{size[1]}, 18 frames, 3 sheets)")
        print(
            f"{'method':<15}{'seconds':>9}{'peak MB':>9}{'max |t-target|':>16}"
            f"{'ffmpeg/this':>13}{'this/floor':>12}"
        )
        ff = results.get("ffmpeg-tile", (None,))[0]
        floor = results.get("floor", (None,))[0]
        for method, (seconds, rss, err) in results.items():
            ratio_ff = f"{ff / seconds:.1f}x" if ff else "-"
            ratio_floor = f"{seconds / floor:.2f}x" if floor else "-"
            err_s = f"{err:.3f} s" if err is not None else "-"
            print(
                f"{method:<15}{seconds:>9.2f}{rss:>9.0f}{err_s:>16}{ratio_ff:>13}{ratio_floor:>12}"
            )
        for method, counts in reasons.items():
            if counts:
                print(f"  {method} frame choices: {counts}")


if __name__ == "__main__":
    main()
