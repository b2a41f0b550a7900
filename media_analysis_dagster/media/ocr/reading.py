"""Reading images within budgets: one image, a document page, a request's images.

CPU time is the calling thread's clock (the engine computes on it): the budget is checked
before text is looked for and before each line is read, so a request ends within one step of
its budget (finding the text of an image about 0.3 CPU-s, reading a line up to about 0.15), and
its pages say how far reading got.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

import numpy as np

from media_analysis_dagster.media.ocr.engine import get_engine
from media_analysis_dagster.media.ocr.limits import (
    DETECTION_SIDE,
    MAX_LINES,
    MIN_LINE_CONFIDENCE,
    READ_SIDE,
)
from media_analysis_dagster.media.ocr.pixels import Source, load, pad_strip
from media_analysis_dagster.media.ocr.results import OcrBatch, OcrLine, OcrPage


def _line(
    text: str,
    confidence: float,
    box: np.ndarray,
    shift: tuple[int, int],
    scale: float,
    size: tuple[int, int],
) -> OcrLine:
    """A line with its box moved out of the padding and back to original pixels."""
    corners = (box - np.array(shift, dtype=np.float32)) / scale
    corners = np.clip(corners, 0, [size[0] - 1, size[1] - 1])
    points = tuple((round(float(x)), round(float(y))) for x, y in corners)
    return OcrLine(text.strip(), round(confidence, 4), points)


def read_image(
    source: Source, *, max_side: int = DETECTION_SIDE, budget_s: float | None = None
) -> OcrPage:
    """Read the text of one image (a file, an RGB/RGBA/grey uint8 array, or a PIL image).

    ``max_side`` bounds what the detector sees; ``budget_s`` (CPU seconds) stops reading
    between lines, leaving the page ``complete=False`` with a note. Unreadable, tiny or
    textless images give a page without lines, never an error (a missing file raises)."""
    engine = get_engine()  # loaded once per process, not charged to one request
    started = time.thread_time()

    def spent() -> float:
        return time.thread_time() - started

    def over() -> bool:
        return budget_s is not None and spent() > budget_s

    bgr, width, height, note = load(source, max(READ_SIDE, max_side))
    if bgr is None:
        return OcrPage((), round(spent(), 3), width, height, 1.0, True, note)
    scale = bgr.shape[1] / width
    if over():
        note = "Stopped by the CPU budget before any text was looked for."
        return OcrPage((), round(spent(), 3), width, height, round(scale, 4), False, note)
    padded, top, left = pad_strip(bgr)
    boxes = engine.detect(padded, max_side)
    lines: list[OcrLine] = []
    stopped_at = None
    for index, box in enumerate(boxes):
        if over():
            stopped_at = index
            break
        text, confidence = engine.recognise(padded, box)
        if text.strip() and confidence >= MIN_LINE_CONFIDENCE:
            lines.append(_line(text, confidence, box, (left, top), scale, (width, height)))
    if stopped_at is not None:
        note = f"Stopped by the CPU budget after {stopped_at} of {len(boxes)} text line(s)."
    elif len(boxes) >= MAX_LINES:
        note = f"Only the first {MAX_LINES} text boxes were read."
    complete = stopped_at is None
    return OcrPage(tuple(lines), round(spent(), 3), width, height, round(scale, 4), complete, note)


def read_page_image(
    source: Source, *, max_side: int = DETECTION_SIDE, budget_s: float | None = None
) -> OcrPage:
    """`read_image` for a document page (a scan, a page rendered without a text layer): lines
    in reading order, the left column before the right one when a gutter splits the page."""
    page = read_image(source, max_side=max_side, budget_s=budget_s)
    return dataclasses.replace(page, lines=columns_first(page.lines, page.width))


def columns_first(lines: tuple[OcrLine, ...], width: int) -> tuple[OcrLine, ...]:
    """Lines of a two-column page, left column first: a vertical gutter no line crosses in
    the middle 60% of the page, with at least three lines on each side; otherwise the
    detector's order (top to bottom, left to right within a row)."""
    spans = sorted((min(x for x, _ in ln.box), max(x for x, _ in ln.box)) for ln in lines)
    reach = 0
    for left, right in spans:
        if reach and left > reach:
            gutter = (reach + left) / 2
            lefts = [ln for ln in lines if max(x for x, _ in ln.box) < gutter]
            rights = [ln for ln in lines if min(x for x, _ in ln.box) > gutter]
            if len(lefts) >= 3 and len(rights) >= 3 and width * 0.2 < gutter < width * 0.8:
                return (*lefts, *rights)
        reach = max(reach, right)
    return lines


def read_images(
    sources: Iterable[Source],
    *,
    budget_s: float,
    max_images: int,
    max_side: int = DETECTION_SIDE,
) -> OcrBatch:
    """Read images in order until all are read, ``max_images`` were read, or ``budget_s``
    CPU seconds are spent (the image in progress stops between lines)."""
    items = list(sources)
    pages: list[OcrPage] = []
    spent, stopped = 0.0, None
    for index, source in enumerate(items):
        if index >= max_images:
            stopped = "max_images"
            break
        if spent >= budget_s:
            stopped = "budget"
            break
        page = read_image(source, max_side=max_side, budget_s=budget_s - spent)
        pages.append(page)
        spent += page.seconds
        if not page.complete:
            stopped = "budget"
            break
    return OcrBatch(tuple(pages), len(items), round(spent, 3), stopped)
