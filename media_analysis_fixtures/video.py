"""Videos made at test time with ffmpeg: hard cuts at known times, rotation, non-square pixels,
long files made cheaply, and tiny clips.

Tests, ``make demo`` and the benchmarks need video whose content is known in advance: hard
cuts at known times (`cut_times`), an audio track that is not speech (tones with silent gaps),
rotation and non-square pixels. Generating it keeps the repository free of binary fixtures and
licence questions.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .audio import gapped_tone_source
from .ffmpeg import run_ffmpeg

DEFAULT_SEGMENTS = ("testsrc2", "color=c=red", "smptebars", "color=c=blue")


def cut_times(duration: float, n_segments: int) -> list[float]:
    """Times of the hard cuts of a `make_video` video with ``n_segments`` equal segments
    (the first frame of each new segment is at most one frame later)."""
    return [i * duration / n_segments for i in range(1, n_segments)]


def _segments_graph(
    segs: Sequence[str], duration: float, size: tuple[int, int], fps: int, sar: str, vf: str | None
) -> str:
    """The filter graph joining equal-length lavfi segments; segment i starts at the first
    frame at or after i*duration/n, so cuts match `cut_times`."""
    bounds = [math.ceil(i * duration * fps / len(segs) - 1e-6) for i in range(len(segs) + 1)]
    w, h = size
    chains = []
    for i, src in enumerate(segs):
        sep = ":" if "=" in src else "="
        chains.append(
            f"{src}{sep}s={w}x{h}:r={fps},trim=end_frame={bounds[i + 1] - bounds[i]},"
            f"setpts=PTS-STARTPTS,format=yuv420p,setsar=1[v{i}]"
        )
    concat = "".join(f"[v{i}]" for i in range(len(segs)))
    post = f",{vf}" if vf else ""
    return ";".join(chains) + f";{concat}concat=n={len(segs)}:v=1:a=0,setsar={sar}{post}[vout]"


def make_video(
    path: str | Path,
    *,
    duration: float = 6.0,
    size: tuple[int, int] = (320, 240),
    fps: int = 25,
    segments: Sequence[str] | None = None,
    audio: bool = True,
    gop: int | None = None,
    codec: str = "libx264",
    rotate: int | None = None,
    sar: tuple[int, int] | None = None,
    vf: str | None = None,
    extra_args: Sequence[str] = (),
) -> Path:
    """Write a video of equal-length lavfi segments, so hard cuts are at `cut_times`.

    ``rotate`` is the clockwise display rotation (as `VideoInfo.rotation` reports it), stored as
    a display matrix by remuxing; ``sar`` sets non-square pixels; ``gop`` forces a fixed
    keyframe interval (no scene-cut keyframes) to exercise decoding forward from a keyframe;
    ``vf`` is a filter chain applied to the whole picture (e.g. fades).
    """
    path = Path(path)
    segs = list(segments or DEFAULT_SEGMENTS)
    sar_str = f"{sar[0]}/{sar[1]}" if sar else "1"
    graph = _segments_graph(segs, duration, size, fps, sar_str, vf)
    args = ["-f", "lavfi", "-i", gapped_tone_source(duration)] if audio else []
    args += ["-filter_complex", graph, "-map", "[vout]"]
    if audio:
        args += ["-map", "0:a", "-c:a", "aac", "-b:a", "64k"]
    args += ["-c:v", codec, "-r", str(fps), "-t", str(duration)]
    if codec == "libx264":
        args += ["-preset", "veryfast", "-pix_fmt", "yuv420p"]
    if gop:
        args += ["-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    args += list(extra_args)
    if rotate:
        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / f"plain{path.suffix or '.mp4'}"
            run_ffmpeg([*args, str(plain)])
            # -display_rotation is counter-clockwise; VideoInfo.rotation is clockwise.
            ccw = (360 - rotate) % 360
            run_ffmpeg(["-display_rotation", str(ccw), "-i", str(plain), "-c", "copy", str(path)])
    else:
        run_ffmpeg([*args, str(path)])
    return path


def make_long_video(
    path: str | Path,
    duration: float,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    *,
    unit: float = 60.0,
) -> Path:
    """Write a long H.264 video cheaply: encode about ``unit`` seconds, loop it by stream copy.

    The looped copy has the same GOP structure and decoding cost per second as one long encode,
    which is all the frame benchmarks need, and takes seconds instead of an hour for 2 hours.
    The clip is ``duration / loops`` long so whole loops make up the duration (to the frame
    when that division is a whole number of frames).
    """
    path = Path(path)
    loops = max(1, math.ceil(duration / unit - 1e-9))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "unit.mp4"
        segments = ("testsrc2", "smptebars", "mandelbrot", "testsrc")
        make_video(
            clip, duration=duration / loops, size=size, fps=fps, segments=segments, audio=False
        )
        run_ffmpeg(["-stream_loop", str(loops - 1), "-i", str(clip), "-c", "copy", str(path)])
    return path


def make_clip(
    path: Path, *, seconds: float = 1.0, audio: bool = True, faststart: bool = False
) -> Path:
    """A tiny H.264 (+AAC) MP4: a 64x48 test pattern at 10 fps and a continuous sine tone
    (for sniffing and audio extraction, where only the container and streams matter)."""
    args = ["-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=64x48:rate=10"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest"]
    if faststart:
        args += ["-movflags", "+faststart"]
    run_ffmpeg([*args, str(path)], timeout=60)
    return path
