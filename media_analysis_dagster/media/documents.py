"""Documents: PDFs, plain text and images, reduced to text plus page images for vision.

`inspect_document` sends a PDF to ``pdf_documents`` (text with pypdfium2, scanned pages
rendered within a page, pixel, character and time budget), an image to ``image_documents``
(one page, its pixel count checked before decoding) and reads plain text here: one "page",
decoded with the codec ``sniff`` recognised (UTF-8, UTF-16/32 with a byte-order mark, UTF-16
without one), undecodable bytes replaced. Every size that an attacker controls (page count,
page area, image pixels, text length) is checked before the expensive step it would inflate.

Every string returned (text, metadata) is safe for PostgreSQL (``text_stats.safe_text``): no NUL
characters (ImageMagick writes them into PDF metadata) and no unpaired surrogates (a broken
UTF-16 string in a PDF). A PDF yields at most ``max_text_chars`` of text, and pages are read
only until ``max_seconds`` have passed; the pages after either limit are not listed and the
metadata says ``truncated``.
"""

from __future__ import annotations

import codecs
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.document_info import DocumentInfo, PageInfo
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    SourceError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.image_documents import inspect_image
from media_analysis_dagster.media.pdf_documents import PdfBudget, inspect_pdf, read_pdf_structure
from media_analysis_dagster.media.sniff import bom_encoding, text_codec
from media_analysis_dagster.media.text_stats import safe_text

__all__ = [
    "MAX_PAGE_PIXELS",
    "MAX_READ_SECONDS",
    "MAX_RENDER_PIXELS",
    "MAX_TEXT_CHARS",
    "DocumentInfo",
    "PageInfo",
    "check_pdf",
    "inspect_document",
]

StrPath = str | os.PathLike[str]
_MAX_TEXT_BYTES = 10 * 1024 * 1024
#: Largest rendered page (pixels): an A3 page at 100 dpi is 1.9 Mpx.
MAX_PAGE_PIXELS = 2_500_000
#: Most pixels rendered for one document, all pages together (50 Letter pages at 100 dpi: 47 Mpx).
MAX_RENDER_PIXELS = 50_000_000
#: Most characters of text taken from one PDF (a compressed content stream can hold millions per
#: page); plain-text documents are cut at 10 MiB of bytes.
MAX_TEXT_CHARS = 10_000_000
#: Time after which no further PDF page is read (pdfium spends ~2.4 us per glyph, and a 10 KB
#: file can hold millions of glyphs per page); ordinary PDFs read at 20-60 ms per page.
MAX_READ_SECONDS = 120.0


def inspect_document(
    path: StrPath,
    out_dir: StrPath,
    *,
    mime_type: str,
    max_pages: int = 2000,
    render_dpi: int = 100,
    max_render_pages: int = 50,
    max_image_pixels: int = 100_000_000,
    max_page_pixels: int = MAX_PAGE_PIXELS,
    max_render_pixels: int = MAX_RENDER_PIXELS,
    max_text_chars: int = MAX_TEXT_CHARS,
    max_seconds: float = MAX_READ_SECONDS,
    on_progress: Callable[[float, float], None] | None = None,
) -> DocumentInfo:
    """Read a PDF, plain-text or image document; page images go to ``out_dir``.
    ``on_progress(pages read, pages)`` follows a PDF's pages."""
    _require_file(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if mime_type == "application/pdf":
        page_pixels = min(max_page_pixels, max_image_pixels)
        deadline = time.monotonic() + max_seconds
        budget = PdfBudget(
            render_dpi, max_render_pages, page_pixels, max_render_pixels, max_text_chars, deadline
        )
        return inspect_pdf(Path(path), out, max_pages, budget, on_progress=on_progress)
    if mime_type == "text/plain":
        return _inspect_text(Path(path))
    if mime_type.startswith("image/"):
        return inspect_image(Path(path), out, mime_type, max_image_pixels, max_page_pixels)
    raise UnsupportedMediaError(f"Documents of type {mime_type} are not supported.")


def check_pdf(path: StrPath, *, max_pages: int = 2000) -> dict[str, Any]:
    """Cheap validation before anything else is written: opens, not locked, page count in range.

    The fetch step calls this so an encrypted or damaged PDF fails the request before any
    other step writes files.
    """
    _require_file(path)
    encrypted, _, count, metadata = read_pdf_structure(Path(path))
    if count > max_pages:
        raise MediaLimitError(f"The PDF has {count} pages, over the limit of {max_pages}.")
    if count == 0:
        raise CorruptMediaError("The PDF has no pages.")
    return {"page_count": count, "encrypted": encrypted, "metadata": metadata}


def _require_file(path: StrPath) -> None:
    if not os.path.isfile(path):
        raise SourceError(f"The document {Path(path).name} does not exist.")
    if os.path.getsize(path) == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")


def _inspect_text(path: Path) -> DocumentInfo:
    """Plain text in the codec `sniff.text_codec` recognises (when it recognises none, as a
    byte-order mark says, else UTF-8) with undecodable bytes replaced, capped at 10 MiB."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        data = handle.read(_MAX_TEXT_BYTES)
    codec = text_codec(data, truncated=size > len(data)) or bom_encoding(data) or "utf-8"
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    text = safe_text(decoder.decode(data, final=size <= _MAX_TEXT_BYTES))
    text = text.replace("\r\n", "\n")
    metadata = {"truncated": "true"} if size > _MAX_TEXT_BYTES else {}
    page = PageInfo(1, text, True)
    return DocumentInfo(
        "text", "text/plain", 1, False, metadata, [page], text, char_count=len(text)
    )
