"""Decide what a file is from its bytes, never from its name.

``media_type="auto"`` requests are routed by this module, so a misnamed upload (a text file called
``clip.mp4``) must land in the document branch instead of failing deep inside a video decoder.
A byte-order mark is looked at first: UTF-16 text starts with ``FF FE``, which is also a valid
MPEG audio frame sync, so BOM-marked text is text whatever else it resembles. Magic bytes settle
most formats. Containers that can hold either audio or video (ISO BMFF with a generic brand,
Matroska/WebM, Ogg, AVI, FLV, MPEG-PS, MPEG-TS, ASF) are opened with PyAV, which reads the headers
(and, for FLV and MPEG-PS, the first packets) to list the streams: a real video stream makes it
video (an attached cover picture does not count), otherwise an audio stream makes it audio, and a
container with only subtitles or data is refused here with a clear message. If PyAV cannot open
such a container (a truncated upload), the magic-byte guess is kept and the probe that follows
reports the damage with a proper message.

Text is recognised by `text_codec`, which the document reader also uses to decode it, so a file
is never called text here and then read with another codec. Text with a byte-order mark, and
UTF-16 without one, are judged decoded with replacement, the way the reader decodes them: an
unpaired surrogate (a string cut in half by a broken editor) costs one U+FFFD, not the file.
A replacement character counts against the printable share, so bytes that only decode by being
mostly replaced are still not text. UTF-8 without a mark is decoded strictly: invalid UTF-8 is
the evidence that bytes are something else (Latin-1, or not text at all).
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    SourceError,
    UnsupportedMediaError,
)

_HEAD_BYTES = 64 * 1024
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"}
_TEXT_CONTROL_OK = {"\t", "\n", "\r", "\f", "\v"}
_ASCII_SPACE = frozenset(" \t\n\r")
# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
)


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


def bom_encoding(head: bytes) -> str | None:
    """The Python codec named by a byte-order mark at the start of ``head`` (it consumes the
    mark when decoding), or None."""
    for mark, codec in _BOMS:
        if head.startswith(mark):
            return codec
    return None


def _stream_kinds(path: str | os.PathLike[str]) -> set[str] | None:
    """Kinds of the streams PyAV finds ('video' only for a real picture stream, not cover art),
    or None when it cannot open the file."""
    import av

    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as container:
            attached = av.stream.Disposition.attached_pic
            return {
                "cover" if s.type == "video" and s.disposition & attached else str(s.type)
                for s in container.streams
            }
    except (av.FFmpegError, OSError, ValueError):
        return None


def _route_container(path: str | os.PathLike[str], mime: str) -> Sniffed:
    """Video if a real video stream exists, else audio if an audio stream does; refuse the rest."""
    kinds = _stream_kinds(path)
    if kinds is None or "video" in kinds:
        return Sniffed(mime_type=mime, media_type=_media_type(mime))
    if "audio" in kinds:
        return Sniffed(mime_type=_AUDIO_TWIN.get(mime, mime), media_type="audio")
    if not kinds:
        raise CorruptMediaError("The file holds no readable stream; it may be truncated.")
    raise UnsupportedMediaError(
        "The file holds only subtitle, data or cover-picture streams, and no video or audio "
        "to analyse."
    )


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


def _is_id3(head: bytes) -> bool:
    """An ID3v2 tag: version 2-4 and a size made of 7-bit bytes (text saying "ID3" is not)."""
    return (
        head.startswith(b"ID3")
        and len(head) >= 10
        and head[3] in (2, 3, 4)
        and all(b < 0x80 for b in head[6:10])
    )


def _skip_id3(head: bytes) -> bytes:
    size = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7)
    size += head[9] & 0x7F
    if head[5] & 0x10:  # footer present
        size += 10
    return head[size:]


def _magic(head: bytes) -> tuple[str, bool]:
    """(mime type, whether audio-vs-video must be decided by opening the container)."""
    if _is_id3(head):
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
        (b"FLV\x01", "video/x-flv", True),
        (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "video/x-ms-asf", True),
        (b"\x00\x00\x01\xba", "video/mpeg", True),
        (b"II*\x00", "image/tiff", False),
        (b"MM\x00*", "image/tiff", False),
        (b"II+\x00", "image/tiff", False),  # BigTIFF
        (b"MM\x00+", "image/tiff", False),
        (b"#!AMR", "audio/amr", False),
    )
    for magic, mime, ambiguous in simple:
        if head.startswith(magic):
            return mime, ambiguous
    if _is_bmp(head):
        return "image/bmp", False
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return "video/mp2t", True
    if b"%PDF-" in head[:1024]:
        return "application/pdf", False
    sync = _mpeg_audio_sync(head)
    if sync:
        return sync, False
    return "application/octet-stream", False


def _is_bmp(head: bytes) -> bool:
    """``BM`` alone starts plenty of text; a BMP also has zero reserved bytes and a known DIB
    header size."""
    return (
        head[:2] == b"BM"
        and len(head) >= 18
        and head[6:10] == b"\x00\x00\x00\x00"
        and int.from_bytes(head[14:18], "little") in {12, 16, 40, 52, 56, 64, 108, 124}
    )


# An audio-only file in a container named for video gets an audio type, so nothing downstream
# takes it for a video.
_AUDIO_TWIN = {
    "video/mp4": "audio/mp4",
    "video/quicktime": "audio/mp4",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
    "video/ogg": "audio/ogg",
    "video/mp2t": "audio/mp2t",
    "video/x-ms-asf": "audio/x-ms-wma",
    "video/x-msvideo": "audio/x-msvideo",
    "video/x-flv": "audio/x-flv",
    "video/mpeg": "audio/x-mpeg-ps",
}


def _decoded(head: bytes, truncated: bool, codec: str, errors: str) -> str | None:
    """``head`` decoded in ``codec``, or None when strict decoding fails. A prefix may end inside
    a multi-byte character; ``final=False`` tolerates exactly that."""
    try:
        return codecs.getincrementaldecoder(codec)(errors=errors).decode(head, final=not truncated)
    except UnicodeDecodeError:
        return None


def _is_text(text: str | None) -> bool:
    """No NUL and at least 95% printable characters; a U+FFFD replacement is not printable."""
    if text is None or "\x00" in text:
        return False
    if not text.strip():
        return bool(text)
    printable = sum(
        1 for ch in text if (ch.isprintable() and ch != "\ufffd") or ch in _TEXT_CONTROL_OK
    )
    return printable >= 0.95 * len(text)


def _unmarked_utf16(head: bytes, truncated: bool) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``head`` (no byte-order mark) reads as text in it.

    Read in the wrong byte order, or from 8-bit text, most pairs of bytes are CJK ideographs,
    which are printable too; so the text must also hold an ASCII space or line break, which
    only the right byte order of real UTF-16 text yields (``20 00`` / ``00 20``)."""
    for codec in ("utf-16-le", "utf-16-be"):
        text = _decoded(head, truncated, codec, "replace")
        if text is not None and _is_text(text) and not _ASCII_SPACE.isdisjoint(text):
            return codec
    return None


def text_codec(head: bytes, truncated: bool = False) -> str | None:
    """The codec that reads ``head`` (the first bytes of a file; ``truncated`` when more follow)
    as text, or None when it is not text: the one a byte-order mark names (which consumes the
    mark), else UTF-8, else UTF-16 without a mark."""
    head, truncated = head[:_HEAD_BYTES], truncated or len(head) > _HEAD_BYTES
    marked = bom_encoding(head)
    if marked is not None:
        return marked if _is_text(_decoded(head, truncated, marked, "replace")) else None
    if _is_text(_decoded(head, truncated, "utf-8", "strict")):
        return "utf-8"
    return _unmarked_utf16(head, truncated)


def sniff(path: str | os.PathLike[str]) -> Sniffed:
    """Detect the type of ``path`` by content. An empty file raises CorruptMediaError, a
    container with neither video nor audio (subtitles only) UnsupportedMediaError."""
    if not os.path.isfile(path):
        raise SourceError(f"The media file {os.path.basename(path)} does not exist.")
    size = os.path.getsize(path)
    if size == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    truncated = size > len(head)
    if bom_encoding(head) is not None and text_codec(head, truncated) is not None:
        return Sniffed(mime_type="text/plain", media_type="document")
    mime, ambiguous = _magic(head)
    if ambiguous:
        return _route_container(path, mime)
    if mime == "application/octet-stream" and text_codec(head, truncated) is not None:
        mime = "text/plain"
    return Sniffed(mime_type=mime, media_type=_media_type(mime))
