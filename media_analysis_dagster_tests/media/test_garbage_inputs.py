"""Zero-byte, missing, truncated and random inputs through every media entry point.

Whatever the bytes, each entry point either returns a result or raises a MediaError whose
message is one readable sentence that names no Python exception class. Inputs: real files of
every sniffed format made at test time and cut at several points, random bytes (seeded) behind
every magic number sniff knows, and a video whose header declares a giant picture.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from media_analysis_dagster.media.audio import analyze_wav, extract_wav, probe_audio
from media_analysis_dagster.media.documents import check_pdf, inspect_document
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaError,
    MediaLimitError,
    SourceError,
)
from media_analysis_dagster.media.probe import probe_video
from media_analysis_dagster.media.sniff import sniff
from media_analysis_fixtures import run_ffmpeg
from media_analysis_fixtures.documents import write_text_pdf

ENTRY_POINTS: dict[str, Callable[[Path, Path], Any]] = {
    "sniff": lambda path, out: sniff(path),
    "probe_video": lambda path, out: probe_video(path),
    "probe_audio": lambda path, out: probe_audio(path),
    "extract_wav": lambda path, out: extract_wav(path, out / "a.wav", max_duration=600),
    "analyze_wav": lambda path, out: analyze_wav(path),
    "check_pdf": lambda path, out: check_pdf(path),
    "inspect_pdf": lambda path, out: inspect_document(path, out, mime_type="application/pdf"),
    "inspect_text": lambda path, out: inspect_document(path, out, mime_type="text/plain"),
    "inspect_image": lambda path, out: inspect_document(path, out, mime_type="image/png"),
}
CLASS_NAME = re.compile(r"[A-Za-z]*(Error|Exception)\b|Errno|Traceback")

MAGIC = [
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",
    b"\x1a\x45\xdf\xa3",
    b"RIFF\x24\x00\x00\x00WAVEfmt ",
    b"RIFF\x24\x00\x00\x00AVI LIST",
    b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    b"OggS\x00\x02",
    b"fLaC\x00\x00\x00\x22",
    b"ID3\x03\x00\x00\x00\x00\x00\x10",
    b"FLV\x01\x05\x00\x00\x00\x09",
    b"\x00\x00\x01\xba",
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"II*\x00\x08\x00\x00\x00",
    b"MM\x00*\x00\x00\x00\x08",
    b"BM\x00\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
    b"\xff\xfb\x90\x64",
    b"\xff\xfe",
    b"\xfe\xff",
    b"#!AMR\n",
]


def exercise(path: Path, out: Path) -> dict[str, str]:
    """Run every entry point on ``path``; return what each did ('ok' or the error class)."""
    outcome = {}
    for name, call in ENTRY_POINTS.items():
        try:
            call(path, out)
            outcome[name] = "ok"
        except MediaError as exc:
            message = str(exc)
            assert message.endswith(".") and "\n" not in message, (name, path.name, message)
            assert not CLASS_NAME.search(message), (name, path.name, message)
            outcome[name] = type(exc).__name__
    return outcome


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small real file of every format the pipeline routes."""
    d = tmp_path_factory.mktemp("samples")
    video = ("-f", "lavfi", "-i", "testsrc=duration=1:size=64x48:rate=25")
    audio = ("-f", "lavfi", "-i", "sine=f=440:duration=1")
    for name, args in {
        "v.mp4": (*video, *audio, "-c:v", "libx264", "-c:a", "aac"),
        "v_fast.mp4": (*video, "-c:v", "libx264", "-movflags", "+faststart"),
        "v.mkv": (*video, *audio, "-c:v", "libx264", "-c:a", "libvorbis"),
        "v.webm": (*video, "-c:v", "libvpx", "-b:v", "100k"),
        "v.avi": (*video, "-c:v", "mpeg4"),
        "v.flv": (*video, "-c:v", "flv1"),
        "v.mpg": (*video, *audio, "-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg"),
        "v.ts": (*video, "-c:v", "mpeg2video"),
        "a.wav": audio,
        "a.mp3": (*audio, "-c:a", "libmp3lame"),
        "a.flac": audio,
        "a.ogg": (*audio, "-c:a", "libvorbis"),
        "a.m4a": (*audio, "-c:a", "aac"),
    }.items():
        run_ffmpeg([*args, str(d / name)])
    picture = Image.effect_noise((64, 48), 40).convert("RGB")
    for fmt, ext in (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp")):
        picture.save(d / f"i.{ext}", fmt)
    picture.save(d / "i.tif", "TIFF")
    picture.save(d / "i.bmp", "BMP")
    write_text_pdf(d / "d.pdf", ["One page", "Two pages"], info_title="Title")
    (d / "t.txt").write_text("Plain notes.\n" * 200, "utf-8")
    return d


def test_missing_and_empty_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    missing = exercise(tmp_path / "missing.bin", out)
    assert set(missing.values()) == {"SourceError"}, missing
    (tmp_path / "empty.bin").write_bytes(b"")
    empty = exercise(tmp_path / "empty.bin", out)
    assert set(empty.values()) == {"CorruptMediaError"}, empty


@pytest.mark.parametrize("cut", [1, 16, 200, 0.3, 0.6, 0.95])
def test_truncated_files(samples: Path, tmp_path: Path, cut: float) -> None:
    for source in sorted(samples.iterdir()):
        data = source.read_bytes()
        size = int(cut) if cut >= 1 else int(len(data) * cut)
        path = tmp_path / f"cut_{source.name}"
        path.write_bytes(data[:size])
        exercise(path, tmp_path / "out")


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_behind_every_magic_number(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for index, magic in enumerate([b"", *MAGIC]):
        path = tmp_path / f"junk_{index}.bin"
        path.write_bytes(magic + rng.randbytes(rng.choice([1, 50, 3000, 70_000])))
        exercise(path, tmp_path / "out")


@pytest.fixture(scope="module")
def forged_avi(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """A 6 KB raw-video AVI whose headers declare another picture size."""
    d = tmp_path_factory.mktemp("forged")
    src = d / "raw.avi"
    run_ffmpeg(
        [
            *("-f", "lavfi", "-i", "color=c=gray:size=16x16:d=0.2:r=10"),
            *("-c:v", "rawvideo", "-pix_fmt", "gray", str(src)),
        ]
    )
    data = src.read_bytes()
    main, fmt = data.index(b"avih") + 8 + 32, data.index(b"strf") + 8 + 4
    paths = {}
    for side in (6_000, 9_000, 20_000):
        forged = bytearray(data)
        forged[main : main + 8] = side.to_bytes(4, "little") * 2  # avih dwWidth, dwHeight
        forged[fmt : fmt + 8] = side.to_bytes(4, "little") * 2  # BITMAPINFOHEADER size
        paths[side] = d / f"forged_{side}.avi"
        paths[side].write_bytes(bytes(forged))
    return paths


@pytest.mark.parametrize(
    ("side", "error", "message"),
    [
        (6_000, CorruptMediaError, "could not be decoded; it may be damaged or truncated"),
        (9_000, MediaLimitError, "9000x9000 pixels, more than the limit of 67108864"),
        (20_000, CorruptMediaError, "declares no valid picture size"),  # the demuxer drops it
    ],
)
def test_a_giant_declared_picture_in_a_tiny_file(
    forged_avi: dict[int, Path], side: int, error: type[MediaError], message: str
) -> None:
    path = forged_avi[side]
    assert path.stat().st_size < 10_000
    assert sniff(path).media_type == "video"
    with pytest.raises(error, match=message):
        probe_video(path)


def test_source_error_is_a_media_error() -> None:
    assert issubclass(SourceError, MediaError)
