"""Offline speech-to-text and subtitles.

``models`` finds and loads the faster-whisper model, ``wav_windows`` reads a WAV in windows cut
at quiet spots, ``vad`` finds the speech in a window (Silero VAD) and cuts it into clips,
``transcribe`` decodes the clips into one timed transcript, ``hallucinations`` drops the lines
the model invented, ``reliability`` names the language and says whether the words stand,
``foreign`` hears what the English-only model could not understand again with the multilingual
model of ``bundled_multilingual``, and ``subtitles`` writes the transcript as SubRip or WebVTT.
Callers import from here. Only ``models`` is imported eagerly: ``settings.py`` asks it for the
bundled model when the code location loads, and the rest pulls numpy in, which the code
location does not need (PEP 562 loads it on first use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.speech.models import (
    SpeechModelError,
    default_model,
    load_model,
    model_label,
    unload_models,
)

if TYPE_CHECKING:
    from media_analysis_dagster.media.speech.subtitles import to_srt, to_vtt
    from media_analysis_dagster.media.speech.transcribe import (
        Segment,
        Transcript,
        Word,
        transcribe_wav,
    )
    from media_analysis_dagster.media.speech.wav_windows import SAMPLE_RATE

_LAZY = {
    "to_srt": "subtitles",
    "to_vtt": "subtitles",
    "Segment": "transcribe",
    "Transcript": "transcribe",
    "Word": "transcribe",
    "transcribe_wav": "transcribe",
    "SAMPLE_RATE": "wav_windows",
}

__all__ = [
    "SAMPLE_RATE",
    "Segment",
    "SpeechModelError",
    "Transcript",
    "Word",
    "default_model",
    "load_model",
    "model_label",
    "to_srt",
    "to_vtt",
    "transcribe_wav",
    "unload_models",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
