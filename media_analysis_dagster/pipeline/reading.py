"""Reading a document's pages that have no text layer (scans, image-only PDFs, image
documents) with the offline OCR engine (``media/ocr/``), so their text joins the document's
text, its analyses, its summary and the search index like any typed page.

A page with a text layer is never read again; the pages are read in order within one CPU budget
per document (``media.ocr.DOCUMENT_BUDGET_S``), and a page the budget stopped keeps what was read
and says so in the document's facts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..media.document_info import DocumentInfo

OnProgress = Callable[[float, float], None]


def read_scanned_pages(
    info: DocumentInfo, *, budget_s: float, on_progress: OnProgress | None = None
) -> tuple[DocumentInfo, str | None]:
    """``info`` with the text of its image-only pages read; and a sentence when the budget
    stopped reading early (None otherwise)."""
    from ..media.ocr import read_page_image

    todo = [p for p in info.pages if p.image_path and not p.has_text_layer and not p.text.strip()]
    if not todo:
        return info, None
    spent, note = 0.0, None
    pages = []
    done = 0
    for page in info.pages:
        if page not in todo:
            pages.append(page)
            continue
        left = budget_s - spent
        if left <= 0:
            pages.append(page)
            continue
        read = read_page_image(page.image_path, budget_s=left)  # type: ignore[arg-type]
        spent += read.seconds
        if not read.complete:
            note = read.note
        pages.append(replace(page, text=read.text, ocr_confidence=read.confidence or 0.0))
        done += 1
        if on_progress is not None:
            on_progress(done, len(todo))
    if done < len(todo):
        note = (
            f"Text was read from {done} of {len(todo)} scanned pages within the reading budget "
            f"of {budget_s:g} CPU seconds."
        )
    # The same composition as the PDF reader's, with the pages read here in their place: the
    # report and search split the text back into pages by these pages' character counts.
    text = "\n\n".join(p.text for p in pages if p.has_text_layer or p.ocr_confidence is not None)
    return replace(info, pages=pages, text=text, char_count=len(text)), note
