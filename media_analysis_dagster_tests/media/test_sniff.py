"""Content sniffing on real media generated at test time (ffmpeg, Pillow, hand-written PDF)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.sniff import Sniffed, sniff

from .doc_fixtures import ffmpeg, make_tone, make_video, write_text_pdf


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sniff")
    make_video(d / "video.mp4")
    make_tone(d / "audio.m4a", "-c:a", "aac")  # M4A brand
    make_tone(d / "audio_generic_brand.mp4", "-c:a", "aac")  # isom brand, audio only
    make_tone(d / "audio.wav")
    make_tone(d / "audio.mp3", "-c:a", "libmp3lame")
    make_tone(d / "audio.flac")
    make_tone(d / "audio.ogg", "-c:a", "libvorbis")
    make_tone(d / "audio.mkv", "-c:a", "libvorbis")
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=duration=0.5:size=32x32:rate=10"),
        *("-c:v", "libvpx", "-b:v", "100k", str(d / "video.webm")),
    )
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=duration=0.5:size=32x32:rate=10"),
        *("-c:v", "mpeg4", str(d / "video.avi")),
    )
    ffmpeg(
        *("-f", "lavfi", "-i", "sine=duration=0.5", "-f", "lavfi", "-i", "testsrc=size=32x32"),
        *("-frames:v", "1", "-map", "0", "-map", "1", "-c:v", "mjpeg", "-c:a", "aac"),
        *("-disposition:v", "attached_pic", "-f", "mp4", str(d / "cover_art.mp4")),
    )
    image = Image.new("RGB", (16, 16), "red")
    formats = (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp"), ("AVIF", "avif"))
    for fmt, ext in formats:
        image.save(d / f"image.{ext}", fmt)
    write_text_pdf(d / "doc.pdf", ["Hello"])
    (d / "notes.mp4").write_text("Just some notes, saved with the wrong name.\n", "utf-8")
    (d / "bom.txt").write_bytes("\ufeffGrüße aus Köln\n".encode())
    (d / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (d / "nul.txt").write_bytes(b"text\x00with a NUL byte")
    (d / "empty.mp4").write_bytes(b"")
    data = (d / "video.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    return d


@pytest.mark.parametrize(
    ("name", "mime", "media_type"),
    [
        ("video.mp4", "video/mp4", "video"),
        ("audio.m4a", "audio/mp4", "audio"),
        ("audio_generic_brand.mp4", "audio/mp4", "audio"),
        ("cover_art.mp4", "audio/mp4", "audio"),
        ("audio.wav", "audio/wav", "audio"),
        ("audio.mp3", "audio/mpeg", "audio"),
        ("audio.flac", "audio/flac", "audio"),
        ("audio.ogg", "audio/ogg", "audio"),
        ("audio.mkv", "audio/x-matroska", "audio"),
        ("video.webm", "video/webm", "video"),
        ("video.avi", "video/x-msvideo", "video"),
        ("image.png", "image/png", "document"),
        ("image.jpg", "image/jpeg", "document"),
        ("image.gif", "image/gif", "document"),
        ("image.webp", "image/webp", "document"),
        ("image.avif", "image/avif", "document"),  # an ISO BMFF file, but an image
        ("doc.pdf", "application/pdf", "document"),
        ("notes.mp4", "text/plain", "document"),
        ("bom.txt", "text/plain", "document"),
        ("binary.bin", "application/octet-stream", None),
        ("nul.txt", "application/octet-stream", None),
        # The moov atom is gone, so PyAV cannot open it: the magic-byte guess stands and the
        # probe that follows reports the damage.
        ("truncated.mp4", "video/mp4", "video"),
    ],
)
def test_sniff_by_content(media: Path, name: str, mime: str, media_type: str | None) -> None:
    assert sniff(media / name) == Sniffed(mime_type=mime, media_type=media_type)


def test_extension_is_ignored(media: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "song.txt"
    renamed.write_bytes((media / "audio.mp3").read_bytes())
    assert sniff(renamed).mime_type == "audio/mpeg"


def test_zero_byte_file_is_corrupt(media: Path) -> None:
    with pytest.raises(CorruptMediaError, match=r"^The file is empty \(0 bytes\)\.$"):
        sniff(media / "empty.mp4")


def test_long_utf8_text_cut_inside_a_character_is_still_text(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("é" * 40_000, "utf-8")  # 80,000 bytes: the 64 KiB prefix ends mid-character
    assert sniff(path).mime_type == "text/plain"
