"""Offline text statistics: counts, top terms, language guess and extractive summary."""

from __future__ import annotations

import json

import pytest

from media_analysis_dagster.media.text_stats import analyze_text

ENGLISH = (
    "The river runs through the old town and the new harbour. Every morning the fishermen "
    "bring their boats back to the harbour, and the market opens when the bells ring. "
    "Visitors come for the fish, but they stay for the quiet streets. In the evening the "
    "harbour lights are reflected in the river."
)
GERMAN = (
    "Der Fluss fließt durch die alte Stadt und den neuen Hafen. Jeden Morgen bringen die "
    "Fischer ihre Boote in den Hafen zurück, und der Markt öffnet, wenn die Glocken läuten. "
    "Die Besucher kommen wegen der Fische, aber sie bleiben wegen der ruhigen Straßen. Am "
    "Abend spiegeln sich die Lichter des Hafens im Fluss."
)


@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (GERMAN, "de")])
def test_language_detection(text: str, language: str) -> None:
    stats = analyze_text(text)
    assert stats["language"] == language
    assert 0.4 < stats["language_confidence"] <= 1.0


def test_counts_terms_and_summary() -> None:
    stats = analyze_text(ENGLISH + "\nSecond line.", top_n=3)
    assert stats["sentences"] == 5 and stats["lines"] == 2
    assert stats["words"] == 55 and stats["chars"] == len(ENGLISH) + 13
    assert stats["avg_word_length"] == pytest.approx(4.4, abs=0.3)
    assert stats["reading_time_minutes"] == 0.2
    assert stats["top_terms"][0] == ["harbour", 3]
    assert len(stats["top_terms"]) == 3
    assert not {term for term, _ in stats["top_terms"]} & {"the", "and", "for"}
    summary = stats["summary"]
    assert summary.startswith("The river runs through the old town")
    assert "harbour lights" in summary or "fishermen" in summary
    assert summary.count(".") <= 3
    json.dumps(stats)


def test_short_and_empty_text() -> None:
    short = analyze_text("Hello there")
    assert short["language"] is None and short["language_confidence"] is None
    assert short["summary"] == "Hello there"
    empty = analyze_text("")
    assert empty["words"] == 0 and empty["top_terms"] == [] and empty["summary"] == ""
    numbers = analyze_text("12 34 56 78 90 12 34 56 78 90")
    assert numbers["language"] is None and numbers["words"] == 0


def test_analysis_is_bounded_and_output_safe() -> None:
    text = ("Plain words\x00 with a NUL and a broken \ud800 surrogate. " * 20) + "x" * 5000
    stats = analyze_text(text, max_chars=1000)
    assert stats["chars"] == len(text)
    assert stats["analyzed_chars"] == 1000 - text[:1000].count("\x00")  # NULs are dropped
    dumped = json.dumps(stats, ensure_ascii=False)
    assert "\x00" not in dumped and "\\u0000" not in dumped
    dumped.encode("utf-8")  # no lone surrogate left
