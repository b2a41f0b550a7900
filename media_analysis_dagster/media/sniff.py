"""Decide what a file is from its bytes, never from its name.

``media_type="auto"`` requests are routed by this module, so a misnamed upload (a text file called
``clip.mp4``) must land in the document branch instead of failing deep inside a video decoder.
Magic bytes settle most formats. Containers that can hold either audio or video (ISO BMFF with a
generic brand, Matroska/WebM, Ogg, AVI, MPEG-TS, ASF) are opened with PyAV, which only reads the
headers, to see whether a real video stream exists; an attached cover picture does not count.
If PyAV cannot open such a container (a truncated upload), the magic-byte guess is kept and the
probe that follows reports the damage with a proper message.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

from media_analysis_dagster.media.errors import CorruptMediaError

_HEAD_BYTES = 64 * 1024
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"}
_TEXT_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v"}


@dataclass(frozen=True)
class Sniffed:
    """The detected MIME type and the pipeline branch it belongs to (None: not handled)."""

    mime_type: str
    media_type: str | None


def _media_type(mime: str) -> str | None:
    if mime.startswith("video/"):
        return "video"
    if mime.startswith("audio/"):
        return "audio"
    if mime == "image/heic":
        return None  # Pillow cannot decode HEIF without a plugin we do not ship
    if mime in ("application/pdf", "text/plain") or mime.startswith("image/"):
        return "document"
    return None


def _has_video_stream(path: str | os.PathLike[str]) -> bool | None:
    """True/False when PyAV can read the headers, None when it cannot open the file."""
    import av

    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as container:
            for stream in container.streams.video:
                if not stream.disposition & av.stream.Disposition.attached_pic:
                    return True
            return False
    except (av.FFmpegError, OSError, ValueError):
        return None


def _mpeg_audio_sync(head: bytes) -> str | None:
    """MPEG audio (MP3) or ADTS AAC frame sync at the start of ``head``."""
    if len(head) < 3 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0x03
    if layer == 0:
        return "audio/aac" if head[1] & 0xF6 == 0xF0 else None
    version = (head[1] >> 3) & 0x03
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x03
    return "audio/mpeg" if version != 1 and bitrate != 0x0F and rate != 0x03 else None


def _skip_id3(head: bytes) -> bytes:
    size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7)
    size += head[9] & 0x7F
    if head[5] & 0x10:  # footer present
        size += 10
    return head[size:]


def _magic(head: bytes) -> tuple[str, bool]:
    """(mime type, whether audio-vs-video must be decided by opening the container)."""
    if head.startswith(b"ID3") and len(head) >= 10:
        rest = _skip_id3(head)
        if rest.startswith(b"fLaC"):
            return "audio/flac", False
        return _mpeg_audio_sync(rest) or "audio/mpeg", False
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        box = head[16 : min(int.from_bytes(head[:4], "big"), 256)]
        brands = {brand, *(box[i : i + 4] for i in range(0, len(box) - 3, 4))}
        if brands & {b"avif", b"avis"}:
            return "image/avif", False
        if brands & _HEIF_BRANDS:
            return "image/heic", False
        if brand in _AUDIO_BRANDS:
            return "audio/mp4", False
        return ("video/quicktime" if brand == b"qt  " else "video/mp4"), True
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free") and len(head) >= 8:
        return "video/quicktime", True
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ("video/webm" if b"webm" in head[:64] else "video/x-matroska"), True
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"WAVE":
            return "audio/wav", False
        if form == b"AVI ":
            return "video/x-msvideo", True
        if form == b"WEBP":
            return "image/webp", False
    simple = (
        (b"OggS", "video/ogg", True),
        (b"fLaC", "audio/flac", False),
        (b"%PDF-", "application/pdf", False),
        (b"\x89PNG\r\n\x1a\n", "image/png", False),
        (b"\xff\xd8\xff", "image/jpeg", False),
        (b"GIF87a", "image/gif", False),
        (b"GIF89a", "image/gif", False),
        (b"FLV\x01", "video/x-flv", False),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video/x-ms-asf", True),
        (b"\x00\x00\x01\xba", "video/mpeg", False),
        (b"#!AMR", "audio/amr", False),
    )
    for magic, mime, ambiguous in simple:
        if head.startswith(magic):
            return mime, ambiguous
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return "video/mp2t", True
    if b"%PDF-" in head[:1024]:
        return "application/pdf", False
    sync = _mpeg_audio_sync(head)
    if sync:
        return sync, False
    return "application/octet-stream", False


_AUDIO_TWIN = {
    "video/mp4": "audio/mp4",
    "video/quicktime": "audio/mp4",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
    "video/ogg": "audio/ogg",
    "video/mp2t": "audio/mp2t",
    "video/x-ms-asf": "audio/x-ms-wma",
}


def _looks_like_text(head: bytes, truncated: bool) -> bool:
    """UTF-8 (BOM allowed), no NUL bytes, and at least 95% printable characters."""
    if b"\x00" in head:
        return False
    try:
        # A prefix may end inside a multi-byte character; final=False tolerates exactly that.
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=not truncated)
    except UnicodeDecodeError:
        return False
    if not text.strip():
        return bool(text)
    printable = sum(1 for ch in text if ch.isprintable() or ch in _TEXT_CONTROL_OK)
    return printable >= 0.95 * len(text)


def sniff(path: str | os.PathLike[str]) -> Sniffed:
    """Detect the type of ``path`` by content; raise CorruptMediaError for an empty file."""
    size = os.path.getsize(path)
    if size == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    mime, ambiguous = _magic(head)
    if ambiguous and _has_video_stream(path) is False:
        # An AVI without video has no audio MIME type of its own; keep it but route it as audio.
        return Sniffed(mime_type=_AUDIO_TWIN.get(mime, mime), media_type="audio")
    if mime == "application/octet-stream" and _looks_like_text(head, size > len(head)):
        mime = "text/plain"
    return Sniffed(mime_type=mime, media_type=_media_type(mime))
