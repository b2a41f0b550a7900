"""Offline speech-to-text and subtitles.

``models`` finds and loads the faster-whisper model, ``wav_windows`` reads a WAV in windows cut
at quiet spots, ``transcribe`` turns the windows into one timed transcript and ``subtitles``
writes it as SubRip or WebVTT. Callers import from here.
"""

from __future__ import annotations

from media_analysis_dagster.media.speech.models import (
    SpeechModelError,
    default_model,
    load_model,
    model_label,
    unload_models,
)
from media_analysis_dagster.media.speech.subtitles import to_srt, to_vtt
from media_analysis_dagster.media.speech.transcribe import (
    Segment,
    Transcript,
    Word,
    transcribe_wav,
)
from media_analysis_dagster.media.speech.wav_windows import SAMPLE_RATE

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
