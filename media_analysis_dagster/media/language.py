"""The language of a text: one detector for every text the pipeline has (documents, text read
from frames and scans, transcripts).

``py3langid`` (BSD-3, its model inside the wheel, no network) scores 97 languages from byte
n-grams with naive Bayes in well under a millisecond for a paragraph; with ``norm_probs`` its
scores are probabilities calibrated for the text's length (a softmax with a temperature of
√bytes), so a confidence means the same for a caption and a page. A handful of letters is not
evidence of anything: below `MIN_LETTERS` letters the answer is "unknown" rather than a guess,
and a guess is called reliable only with `RELIABLE_LETTERS` letters and `RELIABLE_CONFIDENCE`.

Measured here (py3langid 0.4): loading the model 0.8 CPU-s once per process; a paragraph
0.1-0.4 ms. "Hello there" (10 letters) scores Sesotho at 0.34, which is why short texts say
``None``; "Welcome to the harbour festival" is English at 0.95, a German or French sentence of
ten words 1.00.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LANGUAGE_NAMES",
    "MIN_LETTERS",
    "RELIABLE_CONFIDENCE",
    "RELIABLE_LETTERS",
    "UNKNOWN",
    "LanguageGuess",
    "detect_language",
    "model_name",
]

#: Fewer letters than this: no guess (``code`` None).
MIN_LETTERS = 12
#: A guess is reliable with at least this many letters and at least this confidence.
RELIABLE_LETTERS = 20
RELIABLE_CONFIDENCE = 0.8
#: Characters looked at: the start of a long text says its language as well as all of it does.
MAX_CHARS = 20_000
#: Labels that name no language ("no linguistic content", "undetermined").
_NOT_LANGUAGES = frozenset({"zxx", "und"})
#: English names of the languages most often met: for sentences a person reads, and to read the
#: names some providers write instead of a code ("german").
LANGUAGE_NAMES = {
    "ar": "Arabic", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "eu": "Basque", "fi": "Finnish",
    "fr": "French", "ga": "Irish", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sr": "Serbian", "sv": "Swedish",
    "ta": "Tamil", "tr": "Turkish", "uk": "Ukrainian", "yi": "Yiddish", "zh": "Chinese",
}  # fmt: skip

_lock = threading.Lock()
_identifier: Any = None


@dataclass(frozen=True)
class LanguageGuess:
    """ISO 639-1 code (or None when the text is too short or has no language), the
    probability the detector gives it (0.0 without a code), and whether to trust it."""

    code: str | None
    confidence: float
    reliable: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the keys results use (``language``, ``language_confidence``)."""
        return {
            "language": self.code,
            "language_confidence": self.confidence if self.code else None,
            "language_reliable": self.reliable,
        }


UNKNOWN = LanguageGuess(None, 0.0, False)


def model_name() -> str:
    """What to record as the model that guessed a language."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"py3langid {version('py3langid')}"
    except PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "py3langid"


def _model() -> Any:
    """The identifier, loaded once per process (0.8 CPU-s) and shared: classifying reads it
    only, so threads need no lock to use it."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def _letters(text: str) -> int:
    return sum(1 for char in text if char.isalpha())


def detect_language(text: str) -> LanguageGuess:
    """The language of ``text`` (its first `MAX_CHARS` characters): a code with its
    probability, or `UNKNOWN` for fewer than `MIN_LETTERS` letters or text of no language."""
    sample = text[:MAX_CHARS]
    letters = _letters(sample)
    if letters < MIN_LETTERS:
        return UNKNOWN
    # Unpaired surrogates (from damaged files) would make the UTF-8 encoding fail.
    sample = sample.encode("utf-8", "replace").decode("utf-8")
    code, probability = _model().classify(sample)
    if code in _NOT_LANGUAGES:
        return UNKNOWN
    confidence = round(max(0.0, min(1.0, float(probability))), 3)
    reliable = letters >= RELIABLE_LETTERS and confidence >= RELIABLE_CONFIDENCE
    return LanguageGuess(str(code), confidence, reliable)
