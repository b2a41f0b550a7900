"""The OpenAI-compatible provider, with the real ``openai`` SDK against the fake server."""

from __future__ import annotations

import base64
import wave

import pytest

from media_analysis_dagster.providers.base import AnalysisTask
from media_analysis_dagster.providers.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderTimeoutError,
    UnsupportedTaskError,
)
from media_analysis_dagster.providers.openai_compat import OpenAICompatibleProvider
from media_analysis_dagster.providers.pricing import cost_for
from media_analysis_dagster.providers.specs import ALL_SPECS
from media_analysis_fixtures.fake_providers import FakeResponse

from .conftest import SECRET


def provider(fake, name="openai", **kwargs):
    return OpenAICompatibleProvider(
        ALL_SPECS[name], api_key=SECRET, base_url=fake.base_url(name), **kwargs
    )


def test_vision_sends_model_prompt_and_base64_jpeg_parts(fake, make_jpegs):
    sheets = make_jpegs(3)
    task = AnalysisTask(
        "r1", "vision_analysis", "video", prompt="What happens?", contact_sheet_paths=sheets
    )
    result = provider(fake).analyze(task)

    (req,) = fake.requests("openai", "chat")
    assert req.path == "/openai/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.json["model"] == "gpt-4o-mini"
    parts = req.json["messages"][0]["content"]
    assert parts[0]["type"] == "text" and parts[0]["text"].startswith("What happens?")
    images = [p for p in parts if p["type"] == "image_url"]
    assert len(images) == 3
    prefix = "data:image/jpeg;base64,"
    assert all(p["image_url"]["url"].startswith(prefix) for p in images)
    first = base64.b64decode(images[0]["image_url"]["url"][len(prefix) :])
    assert first[:3] == b"\xff\xd8\xff"  # a JPEG

    assert "3 image(s)" in result.content
    assert result.provider == "openai" and result.model_name == "gpt-4o-mini"
    usage = result.content_json["usage"]
    assert result.token_count == usage["total_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] >= 85 * 3  # the fake counts 85 tokens per image
    assert result.cost_usd == pytest.approx(
        cost_for(
            "openai",
            "gpt-4o-mini",
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )
    )
    assert result.cost_usd > 0
    assert result.metadata["request_id"] == "req_fake_1"
    assert result.processing_time_ms >= 0 and result.confidence is None


def test_vision_falls_back_to_pages_then_frames_and_caps_images(fake, make_jpegs):
    frames = make_jpegs(5)
    task = AnalysisTask("r1", "vision_analysis", "video", frame_paths=frames)
    provider(fake, max_images=2).analyze(task)
    parts = fake.requests("openai")[0].json["messages"][0]["content"]
    assert sum(p["type"] == "image_url" for p in parts) == 2

    with pytest.raises(UnsupportedTaskError):
        provider(fake).analyze(AnalysisTask("r1", "vision_analysis", "video"))


def test_transcription_uploads_multipart_file_and_reads_segments(fake, make_wav):
    path = make_wav(3.0)
    task = AnalysisTask("r1", "transcription", "audio", audio_path=path)
    result = provider(fake).analyze(task)

    (req,) = fake.requests("openai", "transcriptions")
    assert req.path == "/openai/v1/audio/transcriptions"
    assert req.form["model"] == "whisper-1"
    assert req.form["response_format"] == "verbose_json"
    assert req.files["file"]["filename"] == "audio.wav"
    with open(path, "rb") as fh:
        assert req.files["file"]["size"] == len(fh.read())

    assert result.content == "fake transcript of 3.00 seconds"
    segments = result.content_json["segments"]
    assert [(s["start"], s["end"]) for s in segments] == [(0, 1), (1, 2), (2, 3)]
    assert "tokens" not in segments[0]
    assert result.content_json["duration"] == 3.0
    assert result.cost_usd == pytest.approx(3 / 60 * 0.006)


def test_transcription_chunks_over_the_limit_and_stitches_offsets(fake, make_wav):
    path = make_wav(5.0)
    with wave.open(path, "rb") as wav:
        total = wav.getnframes() / wav.getframerate()
    limit = 44 + 2 * 16_000 * 2  # two seconds of 16-bit mono per piece
    result = provider(fake, max_upload_bytes=limit).analyze(
        AnalysisTask("r1", "transcription", "audio", audio_path=path)
    )

    uploads = fake.requests("openai", "transcriptions")
    assert len(uploads) == 3
    assert all(u.files["file"]["size"] <= limit for u in uploads)
    assert [c["offset_s"] for c in result.content_json["chunks"]] == [0.0, 2.0, 4.0]
    spans = [(s["start"], s["end"]) for s in result.content_json["segments"]]
    assert spans == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert [s["id"] for s in result.content_json["segments"]] == [0, 1, 2, 3, 4]
    assert result.content_json["duration"] == pytest.approx(total)
    assert result.content.count("fake transcript") == 3
    assert result.metadata["chunks"] == 3 and len(result.metadata["request_ids"]) == 3


def test_json_only_model_gets_json_and_token_usage(fake, make_wav):
    p = provider(fake, models={"transcription": "gpt-4o-mini-transcribe"})
    result = p.analyze(AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(2.0)))
    (req,) = fake.requests("openai", "transcriptions")
    assert req.form["response_format"] == "json"
    assert result.token_count == result.content_json["usage"]["total_tokens"] > 0
    assert result.content_json["segments"] == []
    assert result.cost_usd == pytest.approx(2 / 60 * 0.003)


def test_verbose_refused_falls_back_to_json_once(fake, make_wav):
    p = provider(fake, models={"transcription": "gpt-4o-transcribe"})
    task = AnalysisTask(
        "r1",
        "transcription",
        "audio",
        audio_path=make_wav(1.0),
        options={"response_format": "verbose_json"},
    )
    result = p.analyze(task)
    formats = [r.form["response_format"] for r in fake.requests("openai", "transcriptions")]
    assert formats == ["verbose_json", "json"]
    assert result.content_json["response_format"] == "json"


def test_groq_transcription_and_google_anthropic_paths(fake, make_wav, make_jpegs):
    groq = provider(fake, "groq")
    result = groq.analyze(AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(1.0)))
    assert result.model_name == "whisper-large-v3-turbo"
    assert fake.requests("groq")[0].path == "/groq/openai/v1/audio/transcriptions"

    task = AnalysisTask("r1", "vision_analysis", "document", page_image_paths=make_jpegs(1))
    provider(fake, "google").analyze(task)
    provider(fake, "anthropic").analyze(task)
    assert fake.requests("google")[0].path == "/google/v1beta/openai/chat/completions"
    assert fake.requests("google")[0].json["max_tokens"] == 2048
    assert fake.requests("anthropic")[0].path == "/anthropic/v1/chat/completions"
    assert fake.requests("anthropic")[0].json["max_completion_tokens"] == 2048


def test_minimax_think_blocks_are_stripped(fake):
    task = AnalysisTask(
        "r1",
        "summary",
        "video",
        prompt="What is it about?",
        prior_results=({"result_type": "transcription", "provider": "groq", "content": "hi"},),
    )
    result = provider(fake, "minimax").analyze(task)
    assert "<think>" not in result.content and "reason here" not in result.content
    assert result.content.startswith("Fake summary by MiniMax-M2.7")


def test_summary_sends_prompt_and_truncated_facts(fake):
    long = "word " * 50_000
    task = AnalysisTask(
        "r1",
        "summary",
        "audio",
        prompt="List the topics.",
        prior_results=(
            {"result_type": "transcription", "provider": "deepgram", "content": long},
            {"result_type": "audio_analysis", "provider": "internal", "content_json": {"db": -20}},
        ),
    )
    provider(fake, summary_budget_tokens=1000).analyze(task)
    messages = fake.requests("openai")[0].json["messages"]
    assert "only the facts" in messages[0]["content"]
    user = messages[1]["content"]
    assert "List the topics." in user and "[audio_analysis by internal]" in user
    assert '{"db": -20}' in user and "[truncated]" in user
    assert len(user) < 1000 * 4 + 500


def test_401_names_the_key_variable_and_timeout_is_mapped(fake):
    fake.script("openai", "chat", [401])
    with pytest.raises(AuthenticationError) as info:
        provider(fake).analyze(AnalysisTask("r1", "summary", "video"))
    assert str(info.value) == "OPENAI_API_KEY was rejected by openai (HTTP 401); set a valid key"

    fake.set_latency("openai", 1.5)
    with pytest.raises(ProviderTimeoutError):
        provider(fake, timeout_s=0.3).analyze(AnalysisTask("r1", "summary", "video"))


def test_server_error_text_is_scrubbed_of_the_key(fake):
    fake.script("openai", "chat", [FakeResponse.error(400, f"bad key {SECRET} in request")])
    with pytest.raises(BadRequestError) as info:
        provider(fake).analyze(AnalysisTask("r1", "summary", "video"))
    assert SECRET not in str(info.value) and "***" in str(info.value)


def test_unsupported_task_and_repr_without_key(fake):
    groq = provider(fake, "groq")
    assert not groq.supports("vision_analysis", "video")
    assert not groq.supports("transcription", "document")
    with pytest.raises(UnsupportedTaskError):
        groq.analyze(AnalysisTask("r1", "vision_analysis", "video"))
    assert SECRET not in repr(groq)
    with pytest.raises(ValueError, match="GROQ_API_KEY"):
        OpenAICompatibleProvider(ALL_SPECS["groq"], api_key="")
