"""The rules that keep invented lines out of a transcript, on their own (no model, no audio):
which segments are dropped, where loops are cut, how clips are formed, and when a transcript
is judged unreliable and in which language."""

from __future__ import annotations

import pytest

from media_analysis_dagster.media.speech import hallucinations as h
from media_analysis_dagster.media.speech.reliability import Reliability, assess, language_name
from media_analysis_dagster.media.speech.vad import MAX_CLIP_S, Clip, clips

CLEAR = [0.9, 0.95, 0.85, 0.9]


def _words(text: str) -> list[str]:
    return text.split()


def test_a_repeated_line_is_dropped_after_its_first_time() -> None:
    line = "Good morning, my name is Simon."
    assert h.judge(line, CLEAR, 0.1, None).keep
    repeat = h.judge("good morning my name is simon!", CLEAR, 0.1, line)
    assert (repeat.keep, repeat.reason) == (False, "repeats the previous segment")
    assert h.judge("Good evening, my name is Simon.", CLEAR, 0.1, line).keep


def test_loops_are_dropped_or_cut_out() -> None:
    loop = ", and ".join(["Thank you very much"] * 6) + "."
    assert h.compression_ratio(loop) > h.MAX_COMPRESSION
    assert h.judge(loop, CLEAR, 0.1, None).reason == "loops"
    assert h.judge("Hello, hello, hello, hello!", CLEAR, 0.1, None).reason == "loops"
    words = _words("welcome to the table hello hello hello hello this short video")
    assert h.loop_run(words) == (4, 8)
    assert h.loop_run(_words("x and the boat and the boat and the boat y")) == (1, 10)
    assert h.loop_run(_words("the quick brown fox jumps over the lazy dog")) is None
    assert h.loop_run(_words("no no no")) is None  # three times is still speech


def test_no_speech_and_known_inventions_need_weak_scores() -> None:
    weak = [0.2, 0.3]
    assert h.judge("The station is closed.", weak, 0.8, None).reason == "no speech"
    assert h.judge("The station is closed.", CLEAR, 0.8, None).keep  # heard clearly
    assert h.judge("Thanks for watching!", [0.4, 0.5, 0.5], 0.1, None).reason == ("known invention")
    assert h.judge("Thank you.", CLEAR[:2], 0.5, None).reason == "known invention"
    assert h.judge("Thank you.", CLEAR[:2], 0.1, None).keep  # a clear "thank you" stays
    assert h.judge("  ...  ", [], 0.1, None).reason == "empty"


def test_clips_join_speech_across_short_pauses_and_stop_at_whisper_window() -> None:
    rate = 16000
    spans = [(0, 2 * rate), (3 * rate, 5 * rate), (9 * rate, 12 * rate)]
    assert clips(spans) == [Clip(0.0, 5.0), Clip(9.0, 12.0)]  # 4 s of silence splits
    many = [(i * 4 * rate, (i * 4 + 3) * rate) for i in range(20)]  # 3 s said, 1 s pause
    joined = clips(many)
    assert all(c.end - c.start <= MAX_CLIP_S for c in joined) and len(joined) == 3
    assert joined[0].start == 0.0 and joined[-1].end == 79.0


def _assess(
    text: str,
    confidence: float | None,
    *,
    multilingual: bool = False,
    language: str | None = None,
    language_probability: float = 0.0,
    speech_s: float = 12.0,
) -> Reliability:
    return assess(
        multilingual=multilingual,
        language=language,
        language_probability=language_probability,
        text=text,
        confidence=confidence,
        speech_s=speech_s,
        word_count=len(text.split()),
    )


def test_english_only_model_judgement() -> None:
    english = _assess("The weather today is sunny with a light breeze from the west.", 0.83)
    assert (english.language, english.language_probability, english.reliable) == ("en", 1.0, True)
    # tiny.en on German espeak speech: English that was never said, and little certainty.
    invented = _assess("Good morning, my name is Simon. Let's look at the map.", 0.42)
    assert not invented.reliable and invented.language is None
    assert "English-only model" in (invented.reason or "")
    # Foreign words written down as heard: py3langid names the language.
    german = _assess("Der Zug nach Berlin fährt um acht Uhr vom Hauptbahnhof ab.", 0.7)
    assert (german.language, german.reliable) == ("de", False)
    assert german.reason == (
        "Speech in German was heard; the English-only model cannot transcribe it, so its "
        "words are not kept."
    )
    asked = _assess("Good morning.", 0.9, language="fr")  # the request said French
    assert (asked.language, asked.reliable) == ("fr", False)
    nothing = _assess("", None, speech_s=0.0)
    assert nothing.reliable and nothing.language is None
    dropped = _assess("", None, speech_s=12.0)  # heard speech, every line judged invented
    assert not dropped.reliable and "0 word(s) kept" in (dropped.reason or "")


def test_multilingual_model_judgement() -> None:
    spanish = _assess(
        "Buenos días.", 0.83, multilingual=True, language="es", language_probability=0.98
    )
    assert (spanish.language, spanish.reliable) == ("es", True)
    unsure = _assess("x", 0.9, multilingual=True, language="yi", language_probability=0.3)
    assert not unsure.reliable and "unsure of the language" in (unsure.reason or "")
    mumbled = _assess("x", 0.4, multilingual=True, language="de", language_probability=0.9)
    assert not mumbled.reliable and "in German" in (mumbled.reason or "")


@pytest.mark.parametrize(
    ("code", "name"), [("de", "German"), ("pt", "Portuguese"), ("xx", "xx"), (None, None)]
)
def test_language_names(code: str | None, name: str | None) -> None:
    assert language_name(code) == (name or "an unidentified language")
