"""Hostile and odd media made at test time: files whose headers lie, inflate or carry junk.

Every file here is small and quick to make (ffmpeg from imageio-ffmpeg, hand-written PNG
bytes); what makes it hostile is what it claims or what it decodes to. Hostile PDFs are
`documents.write_raw_pdf`; forged WAV headers are `audio.write_wav`.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from pathlib import Path

from .ffmpeg import run_ffmpeg


def make_long_audio_video(path: Path, *, hours: int = 7) -> Path:
    """A one-second H.264 video with a silent FLAC track ``hours`` long, in MP4, in about a
    second: an hour of 8 kHz silence is encoded once and looped by stream copy. Each track has
    its own duration in the MP4 header (the video's is one second)."""
    with tempfile.TemporaryDirectory() as tmp:
        hour = Path(tmp) / "hour.flac"
        run_ffmpeg(
            [
                *("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600"),
                *("-c:a", "flac", "-frame_size", "65535", str(hour)),
            ]
        )
        run_ffmpeg(
            [
                *("-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=10"),
                *("-stream_loop", str(hours - 1), "-i", str(hour)),
                *("-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-c:a", "copy"),
                *("-t", str(hours * 3600), str(path)),
            ]
        )
    return path


def make_understated_mkv(path: Path, *, seconds: int = 10, claimed_s: float = 1.0) -> Path:
    """A Matroska tone of ``seconds`` whose Segment Duration element says ``claimed_s``."""
    run_ffmpeg(
        [
            *("-f", "lavfi", "-i", f"sine=f=440:sample_rate=8000:duration={seconds}"),
            *("-c:a", "flac", str(path)),
        ]
    )
    data = path.read_bytes()
    at = data.index(b"\x44\x89")  # Duration, in TimecodeScale units (1 ms by default)
    size = data[at + 2] & 0x7F
    value = struct.pack(">d" if size == 8 else ">f", claimed_s * 1000)
    path.write_bytes(data[: at + 3] + value + data[at + 3 + size :])
    return path


def make_big_pcm_blocks(path: Path, *, seconds: int, block_samples: int) -> Path:
    """2 kHz PCM noise in Matroska with ``block_samples`` samples per block: every block decodes
    to one huge frame, which resampled to 16 kHz in one go is eight times larger again."""
    source = f"anoisesrc=r=2000:a=0.1:d={seconds},asetnsamples=n={block_samples}:p=0"
    run_ffmpeg(["-f", "lavfi", "-i", source, "-c:a", "pcm_s16le", str(path)])
    return path


def concat_rate_change_mp3(path: Path) -> Path:
    """One second of 16 kHz mono MP3 followed by one second of 44.1 kHz stereo, byte for byte:
    one stream whose sample rate and layout change half-way (as with concatenated podcasts)."""
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, rate, channels in (("a.mp3", 16000, 1), ("b.mp3", 44100, 2)):
            part = Path(tmp) / name
            run_ffmpeg(
                [
                    *("-f", "lavfi", "-i", f"sine=f=440:sample_rate={rate}:duration=1"),
                    *("-ac", str(channels), "-c:a", "libmp3lame", str(part)),
                ]
            )
            parts.append(part.read_bytes())
    path.write_bytes(b"".join(parts))
    return path


def write_blank_png(path: Path, width: int, height: int, *, alpha: bool = True) -> Path:
    """A transparent (or black) PNG of any size, written as a stream: a 6000 x 6000 RGBA picture
    (144 MB decoded) takes under 1 MB on disk and never exists in memory while it is written."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    colour_type, bands = (6, 4) if alpha else (2, 3)
    packer = zlib.compressobj(1)
    row = bytes(1 + width * bands)  # filter byte 0, then zero samples
    parts = [packer.compress(row) for _ in range(height)]
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join([*parts, packer.flush()]))
        + chunk(b"IEND", b"")
    )
    return path


def x264_clip(
    out: Path, size: str, vf: str | None = None, frames: int = 10, fmt: str = "mp4"
) -> Path:
    """A few frames of ``testsrc2`` at ``size`` (any shape x264 accepts), optionally filtered."""
    args = ["-f", "lavfi", "-i", f"testsrc2=s={size}:r=10", "-frames:v", str(frames)]
    args += ["-vf", vf] if vf else []
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", fmt, str(out)]
    run_ffmpeg(args)
    return out


def make_growing_video(d: Path) -> Path:
    """64x48 for 1 s, then 4000x4000: one H.264 stream whose SPS changes mid-stream."""
    x264_clip(d / "small.ts", "64x48", fmt="mpegts")
    x264_clip(d / "big.ts", "4000x4000", frames=2, fmt="mpegts")
    (d / "list.txt").write_text("file 'small.ts'\nfile 'big.ts'\n")
    out = d / "growing.ts"
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(d / "list.txt"), "-c", "copy", str(out)])
    return out
