"""Which bundled OCR models are used, whether they are installed, and the name results record.

Light on purpose (no numpy, nothing loaded): ``settings.py`` asks :func:`ocr_available` when the
code location loads (``MEDIA_ANALYSIS_OCR=auto``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from media_analysis_dagster.media.errors import MediaError

DET_MODEL, REC_MODEL = "PP-OCRv6_det_small.onnx", "PP-OCRv6_rec_small.onnx"
_CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"


class OcrUnavailableError(MediaError):
    """The OCR engine or its bundled models are not installed (or could not be loaded)."""

    hint = "Reinstall rapidocr (its wheel carries the models) or set MEDIA_ANALYSIS_OCR=off."


def _model_dir() -> Path:
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise OcrUnavailableError("The offline OCR engine (rapidocr) is not installed.")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def ocr_available() -> bool:
    """Whether the engine and its bundled models are installed (nothing is loaded)."""
    try:
        folder = _model_dir()
    except OcrUnavailableError:
        return False
    return all((folder / name).is_file() for name in (DET_MODEL, REC_MODEL))


def model_name() -> str:
    """Engine and models, as results record them in ``model_name``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        engine = f"rapidocr {version('rapidocr')}"
    except PackageNotFoundError:
        engine = "rapidocr"
    return f"{engine} {DET_MODEL.removesuffix('.onnx')}+{REC_MODEL.removesuffix('.onnx')}"
