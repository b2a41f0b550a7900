"""Content sniffing on real media generated at test time (ffmpeg, Pillow, hand-written PDF)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.errors import CorruptMediaError, UnsupportedMediaError
from media_analysis_dagster.media.probe import probe_video
from media_analysis_dagster.media.sniff import Sniffed, sniff, text_codec
from media_analysis_fixtures.audio import make_tone
from media_analysis_fixtures.documents import write_text_pdf
from media_analysis_fixtures.ffmpeg import ffmpeg
from media_analysis_fixtures.video import make_clip as make_video


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
    make_tone(d / "audio.flv", "-c:a", "libmp3lame", "-f", "flv")
    make_tone(d / "audio_aac.flv", "-c:a", "aac", "-f", "flv")
    make_tone(d / "audio.mpg", "-c:a", "mp2", "-f", "mpeg")  # MPEG program stream
    make_tone(d / "audio.vob", "-c:a", "ac3", "-f", "vob")
    make_tone(d / "audio.avi", "-c:a", "pcm_s16le")
    testsrc = ("-f", "lavfi", "-i", "testsrc=duration=0.5:size=32x32:rate=10")
    ffmpeg(*testsrc, "-c:v", "flv1", str(d / "video.flv"))
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc=duration=0.5:size=32x32:rate=25"),
        *("-c:v", "mpeg1video", "-f", "mpeg", str(d / "video.mpg")),
    )
    (d / "subs.srt").write_text("1\n00:00:00,000 --> 00:00:00,400\nHello\n\n", "utf-8")
    ffmpeg(
        *testsrc, "-i", str(d / "subs.srt"), "-c:v", "libx264", "-c:s", "srt", str(d / "subs.mkv")
    )
    ffmpeg(
        *testsrc,
        "-i",
        str(d / "subs.srt"),
        "-c:v",
        "libx264",
        "-c:s",
        "mov_text",
        str(d / "subs.mp4"),
    )
    ffmpeg("-i", str(d / "subs.srt"), "-c:s", "srt", str(d / "subtitles_only.mkv"))
    image = Image.new("RGB", (16, 16), "red")
    formats = (
        *(("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp"), ("AVIF", "avif")),
        *(("TIFF", "tif"), ("BMP", "bmp")),
    )
    for fmt, ext in formats:
        image.save(d / f"image.{ext}", fmt)
    write_text_pdf(d / "doc.pdf", ["Hello"])
    (d / "notes.mp4").write_text("Just some notes, saved with the wrong name.\n", "utf-8")
    (d / "bom.txt").write_bytes("\ufeffGrüße aus Köln\n".encode())
    (d / "utf16le.txt").write_bytes("Grüße aus Köln\n".encode("utf-16"))  # FF FE: MPEG sync too
    (d / "utf16be.txt").write_bytes("\ufeffGrüße aus Köln\n".encode("utf-16-be"))
    (d / "utf32.txt").write_bytes("Grüße aus Köln\n".encode("utf-32"))
    (d / "bm.txt").write_text("BMW and Audi sales rose in March.\n", "utf-8")  # BMP magic
    (d / "id3.txt").write_text("ID3 tags are metadata for MP3 files.\n", "utf-8")
    (d / "tiff_words.txt").write_text("II* is not a TIFF unless the rest agrees.\n", "utf-8")
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
        # Audio-only containers named for video are routed by their streams.
        ("audio.flv", "audio/x-flv", "audio"),
        ("audio_aac.flv", "audio/x-flv", "audio"),
        ("audio.mpg", "audio/x-mpeg-ps", "audio"),
        ("audio.vob", "audio/x-mpeg-ps", "audio"),
        ("audio.avi", "audio/x-msvideo", "audio"),
        ("video.flv", "video/x-flv", "video"),
        ("video.mpg", "video/mpeg", "video"),
        ("subs.mkv", "video/x-matroska", "video"),  # video + subtitles, no audio
        ("subs.mp4", "video/mp4", "video"),
        ("image.tif", "image/tiff", "document"),
        ("image.bmp", "image/bmp", "document"),
        ("image.png", "image/png", "document"),
        ("image.jpg", "image/jpeg", "document"),
        ("image.gif", "image/gif", "document"),
        ("image.webp", "image/webp", "document"),
        ("image.avif", "image/avif", "document"),  # an ISO BMFF file, but an image
        ("doc.pdf", "application/pdf", "document"),
        ("notes.mp4", "text/plain", "document"),
        ("bom.txt", "text/plain", "document"),
        ("utf16le.txt", "text/plain", "document"),
        ("utf16be.txt", "text/plain", "document"),
        ("utf32.txt", "text/plain", "document"),
        ("bm.txt", "text/plain", "document"),
        ("id3.txt", "text/plain", "document"),
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


def test_subtitles_only_is_unsupported(media: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match=r"only subtitle, data or cover-picture"):
        sniff(media / "subtitles_only.mkv")


@pytest.mark.parametrize("name", ["subs.mkv", "subs.mp4"])
def test_a_video_with_subtitles_and_no_audio_is_a_video_without_audio(
    media: Path, name: str
) -> None:
    info = probe_video(media / name)
    assert not info.has_audio and info.audio_codec is None
    assert info.duration == pytest.approx(0.5, abs=0.15)


def test_utf16_that_is_mostly_unpaired_surrogates_is_not_text(tmp_path: Path) -> None:
    """FF FE followed by half unpaired surrogates is no text: the magic-byte rules decide."""
    path = tmp_path / "fake.txt"
    path.write_bytes(b"\xff\xfe" + b"\x00\xd8A\x00" * 100)
    assert sniff(path).mime_type != "text/plain"


@pytest.mark.parametrize("lone", ["\ud800", "\udfff"], ids=["high", "low"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_text_with_an_unpaired_surrogate_is_text(
    tmp_path: Path, codec: str, bom: bool, lone: str
) -> None:
    """One broken character (FF FE is also an MPEG audio sync) does not make text audio."""
    text = "Grüße aus Köln, a short note.\nSecond line.\n" * 4
    data = (("\ufeff" if bom else "") + text[:30] + lone + text[30:]).encode(codec, "surrogatepass")
    path = tmp_path / "note.mp3"
    path.write_bytes(data)
    assert sniff(path) == Sniffed(mime_type="text/plain", media_type="document")
    assert text_codec(data) == ("utf-16" if bom else codec)


def test_8_bit_text_is_not_taken_for_utf16(tmp_path: Path) -> None:
    """Latin-1 bytes pair up into printable CJK ideographs, but never into an ASCII space."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("Grüße aus Köln, schöne Straße.\n".encode("latin-1") * 50)
    assert sniff(path).mime_type == "application/octet-stream"
