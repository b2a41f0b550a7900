"""What a document is reduced to: metadata, per-page text and page images.

Its own module because the PDF and image readers build it and the pipeline's contracts carry
it, and neither should import the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class PageInfo:
    """One page: its text, and for pages without a text layer the rendered image."""

    number: int
    text: str
    has_text_layer: bool
    image_path: Path | None = None
    width_pt: float = 0.0
    height_pt: float = 0.0
    ocr_confidence: float | None = None  # set when the text was read from the page's image


@dataclass
class DocumentInfo:
    """A document reduced to metadata, per-page text and page images."""

    kind: str  # 'pdf' | 'text' | 'image'
    mime_type: str
    page_count: int
    encrypted: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    pages: list[PageInfo] = field(default_factory=list)
    text: str = ""
    width: int | None = None
    height: int | None = None
    char_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Everything except the full text, which is stored separately and can be large."""
        return {
            "kind": self.kind,
            "mime_type": self.mime_type,
            "page_count": self.page_count,
            "encrypted": self.encrypted,
            "metadata": dict(self.metadata),
            "width": self.width,
            "height": self.height,
            "char_count": self.char_count,
            "pages": [
                {
                    "number": page.number,
                    "has_text_layer": page.has_text_layer,
                    "chars": len(page.text),
                    "image_path": str(page.image_path) if page.image_path else None,
                    "read_by_ocr": page.ocr_confidence is not None,
                    "ocr_confidence": page.ocr_confidence,
                }
                for page in self.pages
            ],
        }


def has_text(page: Mapping[str, Any]) -> bool:
    """Whether a page (as ``DocumentInfo.to_dict`` writes it) is part of the stored text: it has
    a text layer, or its text was read by OCR."""
    return bool(page.get("has_text_layer") or page.get("read_by_ocr"))


def split_pages(text: str, pages: Sequence[Any]) -> list[tuple[int, str]] | None:
    """The stored text back in ``(page number, text)``: it holds the pages with text
    (:func:`has_text`) in order, joined by a blank line, and ``pages`` (``to_dict``'s page
    facts) say how long each is. None when the facts do not add up to the text (older rows, a
    text cut at its limit)."""
    out: list[tuple[int, str]] = []
    position = 0
    for page in pages:
        if not isinstance(page, Mapping) or not has_text(page):
            continue
        chars, number = page.get("chars"), page.get("number")
        if not isinstance(chars, int) or isinstance(chars, bool) or chars < 0:
            return None
        if not isinstance(number, int) or isinstance(number, bool):
            return None
        out.append((number, text[position : position + chars]))
        position += chars + 2
    return out if out and position - 2 == len(text) else None
