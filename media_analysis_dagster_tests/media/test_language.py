"""The one language detector (``media.language``) every text goes through."""

from __future__ import annotations

import json

import pytest

from media_analysis_dagster.media.language import (
    MIN_LETTERS,
    UNKNOWN,
    LanguageGuess,
    detect_language,
    model_name,
)
from media_analysis_fixtures.text_images import FRENCH_TEXT, GERMAN_TEXT, PAGE_TEXT

SPANISH = "El río atraviesa la ciudad vieja y el puerto nuevo, y cada mañana abre el mercado."


@pytest.mark.parametrize(
    ("text", "code"),
    [(PAGE_TEXT[0], "en"), (GERMAN_TEXT, "de"), (FRENCH_TEXT, "fr"), (SPANISH, "es")],
)
def test_paragraphs_get_their_language_reliably(text: str, code: str) -> None:
    guess = detect_language(text)
    assert guess == LanguageGuess(code, guess.confidence, True)
    assert 0.9 <= guess.confidence <= 1.0


def test_a_caption_is_enough() -> None:
    guess = detect_language("Welcome to the harbour festival")
    assert guess.code == "en" and guess.confidence > 0.8 and guess.reliable


@pytest.mark.parametrize(
    "text", ["", "Hello there", "Der Hafen", "12 34 56 78 90 12 34 56", "!!! ??? ...", " \n\t "]
)
def test_too_little_text_says_unknown(text: str) -> None:
    assert detect_language(text) == UNKNOWN
    assert UNKNOWN.to_dict() == {
        "language": None,
        "language_confidence": None,
        "language_reliable": False,
    }


def test_short_or_uncertain_text_is_not_called_reliable() -> None:
    guess = detect_language("Merci de votre attention")  # 21 letters, fr at about 0.56
    assert guess.code is not None and not guess.reliable
    assert len([c for c in "Hello world!" if c.isalpha()]) < MIN_LETTERS


def test_long_and_damaged_text_is_fine() -> None:
    text = ("Plain words\x00 with a broken \ud800 surrogate. " + PAGE_TEXT[1]) * 2000
    guess = detect_language(text)
    assert guess.code == "en" and guess.reliable
    json.dumps(guess.to_dict())


def test_model_name_names_the_package() -> None:
    assert model_name().startswith("py3langid")
