"""What the second pass of `foreign.in_its_language` returns, with the real multilingual model
naming real espeak-ng German: the language survives a transcript withheld as unsure, and the
English-only verdict stands when every line of the second pass was judged invented.

``again`` is the function's own seam (the caller passes ``transcribe_wav`` there); here it
returns the two endings a second pass can have, so each branch is reached on purpose.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from media_analysis_dagster.media.speech.foreign import in_its_language
from media_analysis_dagster.media.speech.transcribe import Transcript
from media_analysis_fixtures import speech as sf

ENGLISH_VERDICT = Transcript(
    text="", language="", language_probability=0.43, duration=20.0, segments=(), words=(),
    model_name="faster-whisper/tiny.en", confidence=0.43, processing_time_s=2.0,
    load_time_s=0.3, real_time_factor=0.1, windows=1, reliable=False,
    reliability_reason="The English-only model understood little of 16.0 s of speech.",
    speech_s=16.0, english_only=True,
)  # fmt: skip


@pytest.fixture(scope="module")
def german_clips(tmp_path_factory: pytest.TempPathFactory) -> list[np.ndarray]:
    from faster_whisper import decode_audio

    sf.require_espeak()
    folder = tmp_path_factory.mktemp("de")
    wav = sf.make_sentences_wav(folder / "de.wav", sf.GERMAN_SENTENCES, voice="de")
    audio = decode_audio(str(wav))
    return [audio[: 10 * 16_000], audio[10 * 16_000 : 20 * 16_000]]


def _second_pass(**changes: object) -> Transcript:
    base = replace(ENGLISH_VERDICT, model_name="faster-whisper/whisper-base", english_only=False)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_unsure_second_pass_keeps_the_language(german_clips: list[np.ndarray]) -> None:
    unsure = _second_pass(
        language="de",
        reliable=False,
        reliability_reason="The model understood little of 16.0 s of speech in German "
        "(mean word probability 0.52), so its words are not kept.",
    )
    asked: list[str] = []

    def again(code: str, model_dir: str) -> Transcript:
        asked.append(code)
        assert Path(model_dir, "model.bin").is_file()
        return unsure

    out = in_its_language(ENGLISH_VERDICT, german_clips, again, compute_type="int8", cpu_threads=0)
    assert asked == ["de"]
    assert (out.language, out.reliable, out.text) == ("de", False, "")
    assert out.language_probability >= 0.9  # py3langid on the text decoded as German
    assert (out.reliability_reason or "").startswith("Speech in German was heard")


def test_a_second_pass_that_invented_everything_leaves_the_english_verdict(
    german_clips: list[np.ndarray],
) -> None:
    empty = _second_pass(language="de", reliable=True, reliability_reason=None)
    out = in_its_language(
        ENGLISH_VERDICT, german_clips, lambda *_: empty, compute_type="int8", cpu_threads=0
    )
    assert out.model_name == "faster-whisper/tiny.en" and not out.reliable
    assert out.reliability_reason == ENGLISH_VERDICT.reliability_reason
    assert out.processing_time_s > ENGLISH_VERDICT.processing_time_s  # the try is counted


def test_a_damaged_model_cache_leaves_the_english_verdict(
    german_clips: list[np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model file of the right size but not a model (a disk fault): the first pass's verdict
    stands and the request goes on."""
    from media_analysis_dagster.media.speech import bundled_multilingual as bm

    parts = bm._parts()
    assert parts is not None
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".cache" / "media_analysis" / "whisper-base"
    cache.mkdir(parents=True)
    with (cache / "model.bin").open("wb") as junk:
        junk.truncate(parts[0].stat().st_size + parts[1].stat().st_size)

    def again(code: str, model_dir: str) -> Transcript:
        raise AssertionError("no second pass without a model")

    out = in_its_language(ENGLISH_VERDICT, german_clips, again, compute_type="int8", cpu_threads=0)
    assert out == ENGLISH_VERDICT
