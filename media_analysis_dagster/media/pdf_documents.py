"""PDF documents: structure with pypdf, text and page images with pypdfium2, within budgets.

pypdf reads the PDF structure (metadata, page count, encryption) because it reports those
precisely and fails loudly on damage; pypdfium2 extracts text and renders, because it is fast and
renders like a viewer does. A page without a text layer (a scan) is rendered to a PNG so a vision
model can read it. Every size an attacker controls (page count, page area, text length, reading
time) is checked against `PdfBudget` before the expensive step it would inflate.
"""

from __future__ import annotations

import codecs
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.document_info import DocumentInfo, PageInfo
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    EncryptedDocumentError,
    MediaError,
    MediaLimitError,
)
from media_analysis_dagster.media.sniff import bom_encoding
from media_analysis_dagster.media.text_stats import safe_text

_MAX_METADATA_ITEMS = 64
_MAX_METADATA_CHARS = 2000
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def read_pdf_structure(path: Path) -> tuple[bool, str | None, int, dict[str, str]]:
    """(encrypted, password that opened it, page count, metadata) via pypdf."""
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        encrypted = reader.is_encrypted
        password = None
        if encrypted:
            # An empty user password with an owner password only restricts editing: it opens.
            if not reader.decrypt(""):
                raise EncryptedDocumentError("The PDF is encrypted and needs a password.")
            password = ""
        count = len(reader.pages)
        metadata = _clean_metadata(reader.metadata or {})
    except MediaError:
        raise
    except Exception as exc:  # pypdf signals damage with many exception types
        raise CorruptMediaError("The PDF is damaged and cannot be read.") from exc
    return encrypted, password, count, metadata


@dataclass
class PdfBudget:
    """What reading one PDF may still cost: pages and pixels to render, characters of text."""

    dpi: int
    pages: int
    page_pixels: int
    pixels: int
    chars: int
    deadline: float
    text_cut: bool = False

    def spent(self) -> bool:
        """True (and the text marked as cut) once no more text may be read."""
        if self.chars <= 0 or time.monotonic() > self.deadline:
            self.text_cut = True
        return self.text_cut

    def scale_for(self, width_pt: float, height_pt: float) -> float | None:
        """Render scale for a page (``render_dpi``, lowered to fit the per-page and remaining
        total pixels), or None when the page has no area or the budget is spent."""
        if self.pages <= 0 or not (width_pt > 0 and height_pt > 0):
            return None
        allowed = min(self.page_pixels, self.pixels)
        if allowed < 4096:  # less than 64x64: nothing a reader could use
            return None
        scale = self.dpi / 72.0
        area = width_pt * height_pt * scale * scale
        if area > allowed:
            scale *= (allowed / area) ** 0.5
        while math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > allowed:
            scale *= 0.995  # the renderer rounds sizes up; a step or two absorbs that
        return scale

    def spend(self, width_px: int, height_px: int) -> None:
        self.pages -= 1
        self.pixels -= width_px * height_px


def inspect_pdf(
    path: Path,
    out: Path,
    max_pages: int,
    budget: PdfBudget,
    *,
    on_progress: Callable[[float, float], None] | None = None,
) -> DocumentInfo:
    """Text of every page within the budget, and images of pages without text; after each
    page ``on_progress(pages read, pages in the document)``."""
    import pypdfium2 as pdfium

    encrypted, password, count, metadata = read_pdf_structure(path)
    if count > max_pages:
        raise MediaLimitError(f"The PDF has {count} pages, over the limit of {max_pages}.")
    if count == 0:
        raise CorruptMediaError("The PDF has no pages.")
    pages: list[PageInfo] = []
    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        raise CorruptMediaError("The PDF is damaged and cannot be rendered.") from exc
    try:
        readable = min(count, len(pdf))
        for index in range(readable):
            if on_progress is not None:
                on_progress(index, readable)
            if budget.spent():
                break  # the pages not read are not listed; metadata says "truncated"
            page = pdf[index]
            try:
                pages.append(_read_page(page, index + 1, out, budget))
            finally:
                page.close()
        if on_progress is not None:
            on_progress(readable, readable)
    except pdfium.PdfiumError as exc:
        raise CorruptMediaError("A page of the PDF is damaged and cannot be read.") from exc
    finally:
        pdf.close()
    text = "\n\n".join(page.text for page in pages if page.has_text_layer)
    if budget.text_cut:
        metadata["truncated"] = "true"
    return DocumentInfo(
        "pdf", "application/pdf", count, encrypted, metadata, pages, text, None, None, len(text)
    )


def _read_page(page: Any, number: int, out: Path, budget: PdfBudget) -> PageInfo:
    """One page's text (within what is left of the text budget); a page without text is
    rendered if the render budget allows."""
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        chars = textpage.count_chars()
        take = min(chars, budget.chars)
        text = textpage.get_text_range(0, take) if take > 0 else ""
    finally:
        textpage.close()
    text = safe_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    budget.chars -= len(text)
    budget.text_cut = budget.text_cut or take < chars
    info = PageInfo(number, text, bool(text.strip()) or take < chars, None, width, height)
    scale = None if info.has_text_layer else budget.scale_for(width, height)
    if scale is not None:
        image = page.render(scale=scale).to_pil()
        budget.spend(image.width, image.height)
        info.image_path = out / f"page_{number:04d}.png"
        image.save(info.image_path, "PNG")
    return info


def _clean_metadata(raw: Any) -> dict[str, str]:
    """PDF document info as short, printable strings (no control characters, no NUL)."""
    metadata: dict[str, str] = {}
    for key, value in raw.items():
        if len(metadata) >= _MAX_METADATA_ITEMS:
            break
        value = value.get_object() if hasattr(value, "get_object") else value
        if value is None:
            continue
        text = _pdf_bytes_text(value) if isinstance(value, bytes) else str(value)
        name = _CONTROL.sub("", safe_text(str(key).lstrip("/")))[:100]
        text = _CONTROL.sub("", safe_text(text)).strip()[:_MAX_METADATA_CHARS]
        if name:
            metadata[name] = text
    return metadata


def _pdf_bytes_text(raw: bytes) -> str:
    """A PDF string pypdf could not decode (it keeps bytes): UTF-16 or UTF-8 when a byte-order
    mark says so or the bytes are valid UTF-8, else Latin-1; damage becomes U+FFFD."""
    codec = bom_encoding(raw)
    if codec is not None:
        return codecs.decode(raw, codec, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
