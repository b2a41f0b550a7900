"""Speech the English-only model could not understand, heard again in its own language.

`transcribe.transcribe_wav` keeps the first clips of speech it decodes. When the bundled
``tiny.en`` judged its transcript unreliable (``reliability.assess``), those clips go to the
multilingual ``base`` model (``bundled_multilingual``): it names the language
(``reliability.identify_language``, its guess checked by decoding) and, when that is not
English, the whole audio is transcribed again in that language, judged as any multilingual
transcript is (words withheld when it was unsure of them, the language kept). When nothing can
be named, or every line of the second pass was judged invented, the English-only verdict
stands: no words, and the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from media_analysis_dagster.media.speech.bundled_multilingual import multilingual_model
from media_analysis_dagster.media.speech.models import SpeechModelError, load_model
from media_analysis_dagster.media.speech.reliability import (
    MIN_SPEECH_S,
    identify_language,
    language_name,
)

if TYPE_CHECKING:
    from media_analysis_dagster.media.speech.transcribe import Transcript


def in_its_language(
    transcript: Transcript,
    heard: list[np.ndarray],
    again: Callable[[str, str], Transcript],
    *,
    compute_type: str,
    cpu_threads: int,
) -> Transcript:
    """An English-only model's unreliable transcript, heard again by the bundled multilingual
    model: the language it names (when it can), and when that is not English the transcript
    ``again(language, model directory)`` makes with it; else ``transcript`` as it was."""
    model_dir = multilingual_model()
    if model_dir is None:
        return transcript
    started = time.monotonic()
    try:
        whisper = load_model(model_dir, compute_type=compute_type, cpu_threads=cpu_threads)
    except SpeechModelError:  # a damaged cache: the second pass is extra, the verdict stands
        return transcript
    identified = identify_language(whisper, heard)
    spent = time.monotonic() - started
    if identified is None or identified[0] == "en":
        return replace(transcript, processing_time_s=round(transcript.processing_time_s + spent, 3))
    code, probability = identified
    redone = again(code, model_dir)
    if redone.reliable and not redone.text and redone.speech_s >= MIN_SPEECH_S:
        # Every line decoded in that language was judged invented (espeak French "identified"
        # as Thai): the English-only verdict, which says speech went ununderstood, stands. A
        # transcript withheld as unsure keeps the language it was made in, and says why.
        return replace(transcript, processing_time_s=round(transcript.processing_time_s + spent, 3))
    reason = redone.reliability_reason
    if reason:
        reason = f"Speech in {language_name(code)} was heard (tiny.en knows English only). {reason}"
    return replace(
        redone,
        language_probability=probability,
        reliability_reason=reason,
        processing_time_s=round(transcript.processing_time_s + spent + redone.processing_time_s, 3),
    )
