"""Generated media for the tests and benchmarks (not product code), made with the ffmpeg binary
bundled in ``imageio-ffmpeg`` (a test dependency) and PyAV.

Tests, ``make demo`` and the benchmarks need video whose content is known in advance: hard
cuts at known times, an audio track that is not speech (tones with silent gaps), rotation and
non-square pixels, and a frame counter that survives JPEG so an extracted frame can be checked
against the frame that is really shown at its presentation time. Generating it keeps the
repository free of binary fixtures and licence questions.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

DEFAULT_SEGMENTS = ("testsrc2", "color=c=red", "smptebars", "color=c=blue")

#: Bits of the frame counter drawn by `make_counter_video`, as a grid of blocks.
COUNTER_GRID = (4, 3)


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg inside the imageio-ffmpeg wheel (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], *, timeout: float = 3600) -> None:
    """Run ffmpeg quietly; on failure raise RuntimeError carrying the tail of its stderr."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-1500:]
        raise RuntimeError(f"ffmpeg failed with exit code {proc.returncode}: {tail}")


def cut_times(duration: float, n_segments: int) -> list[float]:
    """Times of the hard cuts of a `make_video` video with ``n_segments`` equal segments
    (the first frame of each new segment is at most one frame later)."""
    return [i * duration / n_segments for i in range(1, n_segments)]


def _audio_expr(duration: float) -> str:
    # A 440 Hz tone for 1.2 s in every 2 s, silence in between: clearly not speech.
    return f"aevalsrc=0.4*sin(2*PI*440*t)*lt(mod(t\\,2)\\,1.2):s=44100:d={duration}"


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
    # Segment i starts at the first frame at or after i*duration/n, so cuts match cut_times.
    bounds = [math.ceil(i * duration * fps / len(segs) - 1e-6) for i in range(len(segs) + 1)]
    w, h = size
    sar_str = f"{sar[0]}/{sar[1]}" if sar else "1"
    chains = []
    for i, src in enumerate(segs):
        sep = ":" if "=" in src else "="
        chains.append(
            f"{src}{sep}s={w}x{h}:r={fps},trim=end_frame={bounds[i + 1] - bounds[i]},"
            f"setpts=PTS-STARTPTS,format=yuv420p,setsar=1[v{i}]"
        )
    concat = "".join(f"[v{i}]" for i in range(len(segs)))
    post = f",{vf}" if vf else ""
    graph = ";".join(chains) + f";{concat}concat=n={len(segs)}:v=1:a=0,setsar={sar_str}{post}[vout]"
    args = ["-f", "lavfi", "-i", _audio_expr(duration)] if audio else []
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


def make_audio(path: str | Path, *, duration: float = 6.0, with_silence: bool = True) -> Path:
    """Write a tone track (wav/mp3/m4a/… chosen by extension) with silent gaps if asked."""
    path = Path(path)
    src = _audio_expr(duration)
    if not with_silence:
        src = f"sine=f=440:sample_rate=44100:d={duration}"
    run_ffmpeg(["-f", "lavfi", "-i", src, "-t", str(duration), str(path)])
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


def make_counter_video(
    path: str | Path, *, frames: int = 100, fps: int = 25, size=(320, 240), gop: int = 250
) -> Path:
    """Encode with PyAV a video whose frame ``n`` shows ``n`` in binary blocks (see `read_counter`).

    Each bit is a large black or white block, so it survives scaling and JPEG; x264 with
    B-frames and a long GOP makes a seek land far before most targets.
    """
    import av
    import numpy as np

    path = Path(path)
    w, h = size
    cols, rows = COUNTER_GRID
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "sc_threshold": "0", "keyint_min": str(gop)}
        for n in range(frames):
            bits = np.array([(n >> b) & 1 for b in range(cols * rows)], dtype=np.uint8)
            grid = (bits.reshape(rows, cols) * 255).astype(np.uint8)
            img = np.kron(grid, np.ones((h // rows, w // cols), dtype=np.uint8))
            img = np.pad(img, ((0, h - img.shape[0]), (0, w - img.shape[1])))
            frame = av.VideoFrame.from_ndarray(np.dstack([img] * 3), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def read_counter(image: Image.Image) -> int:
    """Inverse of `make_counter_video`: the frame number drawn in an (un-rotated) picture."""
    import numpy as np

    cols, rows = COUNTER_GRID
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = gray.shape
    value = 0
    for b in range(cols * rows):
        r, c = divmod(b, cols)
        y0, y1 = int((r + 0.25) * h / rows), int((r + 0.75) * h / rows)
        x0, x1 = int((c + 0.25) * w / cols), int((c + 0.75) * w / cols)
        if gray[y0:y1, x0:x1].mean() > 128:
            value |= 1 << b
    return value
