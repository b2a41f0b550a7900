"""The language of a transcript, and whether its words can be trusted.

A multilingual Whisper model names the language itself (`whisper_language`: its language
tokens, averaged over the first clips of speech). An English-only model (the bundled
``tiny.en``) cannot: on speech in another language it writes English that was never said
("Good morning, my name is" for a German weather report; py3langid then reads that text as
English at 0.99, so the text alone cannot reveal the language). What gives it away is the
model's own uncertainty over the speech that VAD heard. Measured here on espeak-ng speech with
tiny.en: English sentences 0.83 mean word probability (duration-weighted), the demo video 0.89;
German 0.42-0.44, French 0.41. So with an English-only model the transcript is *unreliable*
when

- py3langid reads the kept text, reliably, as a language other than English (tiny.en wrote the
  foreign words as it heard them), or
- over at least `MIN_SPEECH_S` of speech its words' probability is under `MIN_CONFIDENCE`, or
  fewer than `MIN_WORDS_PER_S` words per second of speech survived the hallucination filter.

A multilingual model's transcript is unreliable when it was unsure of the language (under
`MIN_LANGUAGE_PROBABILITY`) or of the words (`MIN_CONFIDENCE`). An unreliable transcript names
the language where something could (the multilingual model, py3langid on the text, a language
the request gave), else ``language`` is None; it says why in one sentence, and its words are
withheld by the caller: not in the text, the segments or the subtitles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from media_analysis_dagster.media.language import LANGUAGE_NAMES, detect_language
from media_analysis_dagster.media.speech import hallucinations

MIN_SPEECH_S = 2.0
MIN_CONFIDENCE = 0.6
MIN_WORDS_PER_S = 0.3
#: A multilingual model's language guess below this is reported as unsure.
MIN_LANGUAGE_PROBABILITY = 0.5
#: `identify_language`: how many of the model's first languages are tried, from what
#: probability, on how much speech.
CANDIDATES = 3
MIN_CANDIDATE_PROBABILITY = 0.05
_CHECK_SAMPLES = 30 * 16_000


def language_name(code: str | None) -> str:
    """ "German" for ``de``; the code itself for a language not in ``LANGUAGE_NAMES``."""
    if not code:
        return "an unidentified language"
    return LANGUAGE_NAMES.get(code, code)


@dataclass(frozen=True)
class Reliability:
    """The transcript's language and whether its words stand; ``reason`` says why not."""

    language: str | None
    language_probability: float
    reliable: bool
    reason: str | None = None
    text_language: dict[str, Any] | None = None  # py3langid on the text (LanguageGuess.to_dict)


def whisper_ranking(model: Any, pieces: list[Any]) -> list[tuple[str, float]]:
    """A multilingual model's languages over ``pieces`` (float32 arrays of speech), most likely
    first: its probabilities averaged, so one odd sentence does not decide."""
    totals: dict[str, float] = {}
    for piece in pieces:
        _, _, ranked = model.detect_language(audio=piece)
        for code, probability in ranked:
            totals[code] = totals.get(code, 0.0) + float(probability) / len(pieces)
    return sorted(((c, round(p, 4)) for c, p in totals.items()), key=lambda cp: -cp[1])


def whisper_language(model: Any, pieces: list[Any]) -> tuple[str, float]:
    """The language `whisper_ranking` puts first, with its probability."""
    return whisper_ranking(model, pieces)[0]


def identify_language(model: Any, pieces: list[Any]) -> tuple[str, float] | None:
    """The language of ``pieces`` by a multilingual model, checked by decoding; None when no
    candidate holds up.

    Whisper's own guess is weak on synthetic or accented speech: espeak-ng German came out as
    Yiddish 0.39, German 0.21; espeak French as Thai. Its text is a better witness. So each of
    its first `CANDIDATES` languages decodes up to 30 s of the speech in that language, and the
    first whose text does not loop, was decoded with some certainty (mean log-probability over
    ``hallucinations.LOW_LOGPROB``) and reads, by py3langid and reliably, as that very language
    is the one (decoded "as Yiddish", that German came out in Hebrew letters; as German, in
    German). The probability returned is py3langid's for that text: the check that decided.
    """
    audio = np.concatenate(pieces)[:_CHECK_SAMPLES] if pieces else None
    if audio is None or not len(audio):
        return None
    for code, ranked in whisper_ranking(model, pieces)[:CANDIDATES]:
        if ranked < MIN_CANDIDATE_PROBABILITY:
            break
        decoded, _ = model.transcribe(
            audio,
            language=code,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            vad_filter=False,
            without_timestamps=True,
        )
        segments = list(decoded)
        text = " ".join(s.text.strip() for s in segments).strip()
        words = [hallucinations.normalized(w) for w in text.split()]
        if not text or hallucinations.compression_ratio(text) > hallucinations.MAX_COMPRESSION:
            continue
        logprob = sum(float(s.avg_logprob) for s in segments) / len(segments)
        if hallucinations.loop_run(words) or logprob < hallucinations.LOW_LOGPROB:
            continue
        guess = detect_language(text)
        if guess.reliable and guess.code == code:
            return code, guess.confidence
    return None


def assess(
    *,
    multilingual: bool,
    language: str | None,
    language_probability: float,
    text: str,
    confidence: float | None,
    speech_s: float,
    word_count: int,
) -> Reliability:
    """Judge a transcript (see the module docstring). ``language`` is what the model used
    (detected by a multilingual model, or asked for by the request)."""
    guess = detect_language(text) if text else None
    seen = guess.to_dict() if guess else None
    if multilingual:
        return _multilingual(language, language_probability, confidence, speech_s, seen)
    if language and language != "en":
        return _foreign(language, 1.0, seen)
    if guess is not None and guess.reliable and guess.code not in (None, "en"):
        return _foreign(guess.code, guess.confidence, seen)
    if speech_s >= MIN_SPEECH_S:
        low = confidence is not None and confidence < MIN_CONFIDENCE
        if low or word_count / speech_s < MIN_WORDS_PER_S:
            heard = (
                f"mean word probability {confidence:.2f}"
                if low and confidence is not None
                else f"{word_count} word(s) kept"
            )
            return Reliability(
                None,
                round(confidence or 0.0, 4),
                False,
                f"The English-only model understood little of {speech_s:.1f} s of speech "
                f"({heard}): it is probably not English, and its words are not kept.",
                seen,
            )
    if not text:
        return Reliability(None, 0.0, True, None, seen)
    return Reliability("en", 1.0, True, None, seen)  # what the model assumes, as faster-whisper


def _multilingual(
    language: str | None,
    probability: float,
    confidence: float | None,
    speech_s: float,
    seen: dict[str, Any] | None,
) -> Reliability:
    """A multilingual model named the language itself; its words stand unless it was unsure
    of the language or of the words."""
    if not language or speech_s < MIN_SPEECH_S:
        return Reliability(language, probability, True, None, seen)
    name = language_name(language)
    if probability < MIN_LANGUAGE_PROBABILITY:
        why = f"The model was unsure of the language ({name} at {probability:.2f})"
    elif confidence is not None and confidence < MIN_CONFIDENCE:
        why = (
            f"The model understood little of {speech_s:.1f} s of speech in {name} (mean word "
            f"probability {confidence:.2f})"
        )
    else:
        return Reliability(language, probability, True, None, seen)
    return Reliability(language, probability, False, why + ", so its words are not kept.", seen)


def _foreign(code: str, probability: float, seen: dict[str, Any] | None) -> Reliability:
    return Reliability(
        code,
        round(probability, 4),
        False,
        f"Speech in {language_name(code)} was heard; the English-only model cannot "
        "transcribe it, so its words are not kept.",
        seen,
    )
