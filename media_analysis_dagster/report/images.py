"""Pictures embedded in a report: read through the caller's ``read``, reduced, as data URLs.

A report is one self-contained file, so it opens the same from a bucket, a mail attachment or
``media-analysis report ID``: every picture is a ``data:image/jpeg`` URL, reduced to the width
it is shown at (sheets 1280 px, scene pictures 320 px, pages 640 px). A budget bounds all
pictures of one report together (``MAX_IMAGE_BYTES``); past it, and for a file that cannot be
read or decoded, the section shows a sentence instead of the picture, and the report is still
written.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: All pictures of one report together (base64 characters).
MAX_IMAGE_BYTES = 8_000_000
#: Largest stored picture decoded (pixels): a 4096x4096 contact sheet is 16.8 Mpx.
MAX_SOURCE_PIXELS = 40_000_000
#: Largest file read for a picture.
MAX_SOURCE_BYTES = 50_000_000

Reader = Callable[[dict[str, Any]], bytes]
"""``read(file_row) -> bytes``: a stored file's contents, given its ``media_files`` row."""


@dataclass(frozen=True)
class Embedded:
    """A picture ready for ``<img>``: its data URL and its size in pixels; or why not."""

    url: str | None
    width: int = 0
    height: int = 0
    reason: str = ""


class ImageBudget:
    """Reads, reduces and counts the pictures of one report."""

    def __init__(self, read: Reader, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self.read = read
        self.left = max_bytes
        self.skipped = 0

    def embed(self, file_row: Mapping[str, Any] | None, width: int, quality: int = 80) -> Embedded:
        """The picture of ``file_row`` at most ``width`` pixels wide (and 4x as tall)."""
        if file_row is None:
            return Embedded(None, reason="no picture was stored")
        if self.left <= 0:
            self.skipped += 1
            return Embedded(None, reason="left out to keep the report small")
        try:
            data = self.read(dict(file_row))
        except Exception as exc:  # any reader (disk, bucket) may fail: say so
            return Embedded(None, reason=f"could not be read ({type(exc).__name__})")
        if not isinstance(data, bytes | bytearray) or len(data) > MAX_SOURCE_BYTES:
            return Embedded(None, reason="could not be read (too large)")
        made = _reduce(bytes(data), width, quality)
        if made is None:
            return Embedded(None, reason="is not a picture that could be decoded")
        url, w, h = made
        if len(url) > self.left:
            self.skipped += 1
            return Embedded(None, reason="left out to keep the report small")
        self.left -= len(url)
        return Embedded(url, w, h)


def _reduce(data: bytes, width: int, quality: int) -> tuple[str, int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_SOURCE_PIXELS:
                return None
            img.draft("RGB", (width, width * 4))
            picture = img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
    picture.thumbnail((width, width * 4), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=quality, optimize=True)
    url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return url, picture.width, picture.height
