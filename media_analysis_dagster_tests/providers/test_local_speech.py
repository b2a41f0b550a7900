"""The offline transcription provider: its result row, its errors, and its place in a chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_analysis_dagster.media.language import detect_language
from media_analysis_dagster.providers.base import AnalysisTask, ProviderResult
from media_analysis_dagster.providers.chain import run_chain
from media_analysis_dagster.providers.errors import BadRequestError, UnsupportedTaskError
from media_analysis_dagster.providers.internal_summary import summarize
from media_analysis_dagster.providers.local_speech import LocalSpeechProvider, subtitle_files
from media_analysis_dagster.providers.registry import build_providers
from media_analysis_fixtures import speech as sf

from .conftest import FAST_RETRIES, SECRET

SENTENCE = sf.SENTENCES[4]  # measured WER 0.0 with tiny.en


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> str:
    sf.require_espeak()
    return str(sf.make_speech_wav(tmp_path_factory.mktemp("speech") / "s.wav", SENTENCE))


def _task(audio_path: str | None, media_type: str = "audio", **options: object) -> AnalysisTask:
    return AnalysisTask(
        "r1", "transcription", media_type, audio_path=audio_path, options=dict(options)
    )


def test_result_row(speech_wav: str) -> None:
    result = LocalSpeechProvider().analyze(_task(speech_wav, "video"))
    assert (result.provider, result.result_type) == ("internal", "transcription")
    assert result.model_name == "faster-whisper/tiny.en"
    assert result.cost_usd == 0.0 and result.token_count is None
    assert result.processing_time_ms > 0 and 0.5 < (result.confidence or 0) <= 1
    assert sf.word_error_rate(SENTENCE, result.content or "") < 0.25
    data = result.content_json or {}
    assert data["text"] == result.content and data["language"] == "en"
    assert data["usage"]["audio_seconds"] == data["duration"] > 3
    assert set(data["segments"][0]) >= {"id", "start", "end", "text", "avg_logprob"}
    assert set(data["words"][0]) >= {"word", "start", "end", "probability"}
    assert data["srt"].startswith("1\n00:00:") and data["vtt"].startswith("WEBVTT\n\n1\n")
    assert subtitle_files(result) == {"srt": data["srt"], "vtt": data["vtt"]}
    assert data["reliable"] is True and data["reliability_reason"] is None
    assert data["speech_seconds"] > 2 and data["dropped_segments"] == {}
    assert result.metadata["engine"] == "faster-whisper" and result.metadata["windows"] == 1
    assert "duration" in result.metadata["confidence_method"]


def test_supports_only_transcription_of_audio_and_video() -> None:
    provider = LocalSpeechProvider()
    assert provider.supports("transcription", "audio") and provider.supports(
        "transcription", "video"
    )
    assert not provider.supports("transcription", "document")
    assert not provider.supports("summary", "audio")
    assert provider.model_for("transcription") == "faster-whisper/tiny.en"


def test_errors_are_permanent_provider_errors(tmp_path: Path) -> None:
    provider = LocalSpeechProvider()
    with pytest.raises(UnsupportedTaskError, match="needs an audio file"):
        provider.analyze(_task(None))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(BadRequestError, match="not a readable WAV") as info:
        provider.analyze(_task(str(broken)))
    assert not info.value.transient and "re-upload" in info.value.hint
    missing = LocalSpeechProvider(model=str(tmp_path / "nowhere"))
    with pytest.raises(UnsupportedTaskError, match="does not exist") as model_info:
        missing.analyze(_task(str(broken)))
    assert "MEDIA_ANALYSIS_WHISPER_MODEL" in model_info.value.hint


def test_paid_failures_fall_back_to_local_speech(fake, speech_wav: str) -> None:
    """deepgram answers 503 until retries run out, groq rejects the key: the offline model
    still delivers, and the chain records all three attempts."""
    fake.script("deepgram", "listen", [503, 503, 503, 503])
    fake.script("groq", "transcriptions", [401])
    local = LocalSpeechProvider()
    enabled = build_providers(
        {"deepgram": SECRET, "groq": SECRET}, fake.base_urls(), internal=local
    )
    chain = [enabled["deepgram"], enabled["groq"], enabled["internal"]]
    outcome = run_chain(_task(speech_wav), chain, retry_kwargs=FAST_RETRIES)
    assert outcome.succeeded and outcome.result is not None
    assert outcome.result.provider == "internal"
    assert [a.status for a in outcome.attempts] == ["error", "error", "success"]
    assert outcome.attempts[2].model == "faster-whisper/tiny.en" and outcome.cost_usd == 0.0
    assert sf.word_error_rate(SENTENCE, outcome.result.content or "") < 0.25


def test_subtitles_for_other_providers_results() -> None:
    openai_like = ProviderResult(
        "transcription", "openai", "Hello there. Bye.",
        {"segments": [{"id": 0, "start": 0.0, "end": 1.5, "text": " Hello there."},
                      {"id": 1, "start": 2.0, "end": 2.6, "text": " Bye."}]},
        None, "whisper-1",
    )  # fmt: skip
    files = subtitle_files(openai_like)
    assert files["srt"] == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n00:00:02,000 --> 00:00:02,600\nBye.\n"
    )
    assert files["vtt"].startswith("WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nHello there.")
    deepgram_like = ProviderResult(
        "transcription", "deepgram", "Hi.",
        {"utterances": [{"start": 0.25, "end": 0.75, "transcript": "Hi."}], "words": []},
        0.9, "nova-3",
    )  # fmt: skip
    assert "00:00:00,250 --> 00:00:00,750\nHi." in subtitle_files(deepgram_like)["srt"]
    untimed = ProviderResult("transcription", "openai", "x", {"text": "x"}, None, "gpt-4o")
    assert subtitle_files(untimed) == {}
    summary = ProviderResult("summary", "internal", "x", {"segments": []}, None, "m")
    assert subtitle_files(summary) == {}


def test_german_speech_is_named_and_transcribed_in_german(tmp_path: Path) -> None:
    """German through the internal provider: tiny.en cannot understand it, the bundled
    multilingual model names it ``de`` and writes German (subtitles too), or withholds the
    words with the reason; never English."""
    sf.require_espeak()
    wav = sf.make_sentences_wav(tmp_path / "de.wav", sf.GERMAN_SENTENCES, voice="de")
    result = LocalSpeechProvider().analyze(_task(str(wav)))
    data = result.content_json or {}
    assert data["language"] == "de" and data["english_only_model"] is False
    assert data["speech_seconds"] > 10 and result.model_name == "faster-whisper/whisper-base"
    assert result.metadata["temperature"] == 0.0 and result.metadata["vad"] == "silero"
    paragraph = _transcript_paragraph(data)
    assert paragraph.startswith("Transcript (de, ")
    if data["reliable"]:
        assert detect_language(data["text"]).code == "de"
        assert "Marktplatz" in subtitle_files(result)["srt"]
        assert "Marktplatz" in subtitle_files(result)["vtt"]
    else:
        assert data["text"] == "" and subtitle_files(result) == {}
        assert "German" in data["reliability_reason"] and '"' not in paragraph


def test_an_unreliable_transcript_is_described_never_quoted() -> None:
    """What tiny.en could not understand (and the multilingual model could not name either)
    reaches the summary as a sentence, with no words of it."""
    unsure = {
        "text": "", "segments": [], "words": [], "reliable": False, "language": None,
        "english_only_model": True, "duration": 12.0, "speech_seconds": 11.0,
        "reliability_reason": "The English-only model understood little of 11.0 s of speech.",
    }  # fmt: skip
    paragraph = _transcript_paragraph(unsure)
    assert paragraph.endswith(
        "Speech was heard that the English-only model could not transcribe (probably not English)."
    )
    assert '"' not in paragraph
    named = _transcript_paragraph({**unsure, "language": "fr"})
    assert named.startswith("Transcript (fr, ")
    assert named.endswith(
        ": Speech in French was heard; the English-only model cannot transcribe it."
    )
    multilingual = {**unsure, "english_only_model": False, "language": "de"}
    multilingual["reliability_reason"] = "The model understood little of 11 s of speech in German"
    assert "its transcript is not reliable (The model understood little" in (
        _transcript_paragraph(multilingual)
    )


def _transcript_paragraph(data: dict[str, object]) -> str:
    prior = {"result_type": "transcription", "provider": "internal", "content": ""}
    task = AnalysisTask("r1", "summary", "audio", prior_results=({**prior, "content_json": data},))
    text, _ = summarize(task)
    return next(p for p in text.split("\n\n") if p.startswith("Transcript"))
