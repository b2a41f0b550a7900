"""The OCR engine: rapidocr's bundled models, loaded once per process, never downloaded.

rapidocr 3.x carries the PP-OCRv6 "small" detection and recognition models (and an angle
classifier we leave off) inside its wheel. Naming each model file by path is what keeps rapidocr
from fetching a default model; a missing file is an `OcrUnavailableError` before anything is
loaded. The detector and the recogniser are driven one step at a time (``_load_*_model`` are
rapidocr 3.x internals; the dependency is pinned below 4 and the OCR tests cover them), so a
CPU budget can stop between lines.

Threads: every onnxruntime session runs on one thread, the caller's, so the caller's thread
clock measures exactly what reading costs it. Engine calls hold one lock. Measured here, two
threads each reading four frames and a page: with the lock 5.6 CPU-s and a 568 MB peak (one
thread: 2.9 CPU-s, 437 MB); without it 5.8 CPU-s and 611 MB; an engine per thread 6.0 CPU-s
and 690 MB. Two cores shared by every step gain nothing from more threads, so the lock stays.
"""

from __future__ import annotations

import threading

import numpy as np

from media_analysis_dagster.media.ocr.limits import DETECTION_SIDE, MAX_LINES
from media_analysis_dagster.media.ocr.models import (
    _CLS_MODEL,
    DET_MODEL,
    REC_MODEL,
    OcrUnavailableError,
    _model_dir,
    ocr_available,
)


class Engine:
    """rapidocr's text detector and line recogniser, one call at a time under `lock`."""

    def __init__(self) -> None:
        folder = _model_dir()
        if not ocr_available():
            raise OcrUnavailableError(
                f"The OCR models {DET_MODEL} and {REC_MODEL} are missing from {folder}."
            )
        from rapidocr import RapidOCR
        from rapidocr.ch_ppocr_rec import TextRecInput
        from rapidocr.utils.process_img import get_rotate_crop_image

        rec_model = str(folder / REC_MODEL)
        params = {
            "Global.use_cls": False,
            "Global.log_level": "error",
            "Det.model_path": str(folder / DET_MODEL),
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECTION_SIDE,
            "Det.max_candidates": MAX_LINES * 2,
            # Boxes scored over their polygon, not their bounding rectangle: on 36 captioned
            # photographs it read one more caption whole (0.970 mean, from 0.965), same CPU.
            "Det.score_mode": "slow",
            "Rec.model_path": rec_model,
            # The character table is inside the model; naming an existing file here means
            # rapidocr would never fetch one from the network if it were not (checked below).
            "Rec.rec_keys_path": rec_model,
            "Rec.rec_batch_num": 1,  # batches pad lines to the widest: 40% more CPU here
            "Cls.model_path": str(folder / _CLS_MODEL),
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        try:
            ocr = RapidOCR(params=params)
            self._det, self._rec = ocr._load_det_model(), ocr._load_rec_model()
        except Exception as exc:
            raise OcrUnavailableError("The bundled OCR models could not be loaded.") from exc
        if not self._rec.session.have_key("character"):
            raise OcrUnavailableError("The bundled OCR recognition model has no character table.")
        self._rec_input, self._crop = TextRecInput, get_rotate_crop_image
        self.lock = threading.Lock()

    def detect(self, bgr: np.ndarray, max_side: int) -> list[np.ndarray]:
        """Text boxes (4x2 float corners in ``bgr``'s pixels), top to bottom, at most
        `MAX_LINES`; the detector sees ``bgr`` reduced to ``max_side``."""
        with self.lock:
            self._det.limit_side_len = max_side
            found = self._det(bgr)
        return [] if found.boxes is None else list(found.boxes[:MAX_LINES])

    def recognise(self, bgr: np.ndarray, box: np.ndarray) -> tuple[str, float]:
        """The text inside ``box`` (straightened) and the recogniser's confidence."""
        crop = self._crop(bgr, box.astype(np.float32).copy())
        with self.lock:
            out = self._rec(self._rec_input(img=[crop], return_word_box=False))
        return (str(out.txts[0]), float(out.scores[0])) if out.txts else ("", 0.0)


_engine_lock = threading.Lock()
_engine: Engine | None = None


def get_engine() -> Engine:
    """The process's engine, loaded on first use (0.7-1.1 CPU-s, about 100 MB) and kept: an
    unloaded engine gave back only 60 MB of its 150 MB here (the allocator keeps the rest), and
    loading it again grew the process further."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine()
    return _engine
