"""Reading the text in images offline (OCR): video frames, scanned pages, image documents.

One engine per process, loaded on first use and shared (``engine``): ``rapidocr`` with the
PP-OCRv6 "small" detection and recognition models its wheel carries (Apache-2.0, on
``onnxruntime``), loaded by path so nothing is ever downloaded; without them reading fails with
`OcrUnavailableError` (one sentence). The angle classifier is off: it would add a model run
per line and only helps text that is upside down.

What reading costs is bounded whatever the image (``limits``): the engine gets at most
`READ_SIDE` pixels on the long side and the detector `DETECTION_SIDE` (``pixels`` reduces while
loading, so a 20000x20000 array is read as 2000x2000); at most `MAX_LINES` lines per image; a
caller's CPU budget stops reading between lines and an image cap between images
(``reading``). Unreadable, tiny or textless images (1x1, all black, noise, a 30000x10 strip)
give a page without lines, never an error. ``on_screen`` turns the pages of a video's frames
into the text seen on screen, once per appearance, with its times and boxes.

Measured on this 2-core machine (``python -m benchmarks.ocr``; the README has the table): about
0.3 CPU-s to find the text of a 1280x720 frame or a 200 dpi page, plus about 1.3 ms per
character read; clean and scanned pages read with character accuracy 1.00. Callers import from
here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.ocr.limits import (
    DETECTION_SIDE,
    DOCUMENT_BUDGET_S,
    MAX_DECODE_PIXELS,
    MAX_FRAMES_PER_REQUEST,
    MAX_LINES,
    MIN_LINE_CONFIDENCE,
    READ_SIDE,
    VIDEO_BUDGET_S,
)
from media_analysis_dagster.media.ocr.models import OcrUnavailableError, model_name, ocr_available
from media_analysis_dagster.media.ocr.results import (
    Box,
    OcrBatch,
    OcrLine,
    OcrPage,
    OnScreenText,
)

if TYPE_CHECKING:
    from media_analysis_dagster.media.ocr.engine import get_engine
    from media_analysis_dagster.media.ocr.on_screen import dedupe_across_frames
    from media_analysis_dagster.media.ocr.reading import read_image, read_images, read_page_image

# Loaded on first use (PEP 562): they pull numpy and onnxruntime in, which loading the code
# location does not need.
_LAZY = {
    "get_engine": "engine",
    "dedupe_across_frames": "on_screen",
    "read_image": "reading",
    "read_images": "reading",
    "read_page_image": "reading",
}

__all__ = [
    "DETECTION_SIDE",
    "DOCUMENT_BUDGET_S",
    "MAX_DECODE_PIXELS",
    "MAX_FRAMES_PER_REQUEST",
    "MAX_LINES",
    "MIN_LINE_CONFIDENCE",
    "READ_SIDE",
    "VIDEO_BUDGET_S",
    "Box",
    "OcrBatch",
    "OcrLine",
    "OcrPage",
    "OcrUnavailableError",
    "OnScreenText",
    "dedupe_across_frames",
    "get_engine",
    "model_name",
    "ocr_available",
    "read_image",
    "read_images",
    "read_page_image",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
