"""The Deepgram provider, with the real ``deepgram-sdk`` v7 client against the fake server."""

from __future__ import annotations

import pytest

from media_analysis_dagster.providers.base import AnalysisTask
from media_analysis_dagster.providers.deepgram import DeepgramProvider, request_options
from media_analysis_dagster.providers.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderServerError,
    RateLimitedError,
)
from media_analysis_fixtures.fake_providers import FakeResponse

from .conftest import SECRET


def deepgram(fake, **kwargs) -> DeepgramProvider:
    return DeepgramProvider(api_key=SECRET, base_url=fake.base_url("deepgram"), **kwargs)


def test_query_options_auth_and_body(fake, make_wav):
    path = make_wav(4.0)
    task = AnalysisTask("r1", "transcription", "video", audio_path=path, options={"diarize": True})
    result = deepgram(fake).analyze(task)

    (req,) = fake.requests("deepgram", "listen")
    assert req.path == "/deepgram/v1/listen"
    assert req.headers["authorization"] == f"Token {SECRET}"
    assert req.headers["content-type"] == "application/octet-stream"
    with open(path, "rb") as fh:
        assert req.body_size == len(fh.read())
    assert req.query == {
        "model": "nova-3",
        "diarize": "true",
        "detect_language": "true",
        "utterances": "true",
        "paragraphs": "true",
        "smart_format": "true",
    }

    assert result.provider == "deepgram" and result.model_name == "nova-3"
    assert result.content.startswith("fake transcript word")
    assert result.confidence == pytest.approx(0.97)
    body = result.content_json
    assert body["duration"] == 4.0 and body["detected_language"] == "en"
    assert len(body["words"]) == 8
    assert set(body["words"][0]) == {"word", "start", "end", "confidence", "speaker"}
    assert body["utterances"] and body["paragraphs"][0]["text"].startswith("fake")
    assert result.cost_usd == pytest.approx(4 / 60 * 0.0043)
    assert result.metadata["request_id"]
    assert result.token_count is None


def test_language_replaces_detection_and_nested_options_win():
    opts = request_options(
        {"language": "de", "model": "whisper-1", "deepgram": {"model": "nova-2", "utterances": 0}},
        "nova-3",
    )
    assert opts["model"] == "nova-2" and opts["language"] == "de"
    assert "detect_language" not in opts and opts["utterances"] is False


def test_model_override_and_price_override(fake, make_wav):
    provider = deepgram(
        fake, model="nova-2", price_overrides={"deepgram/nova-2": {"audio_per_minute": 0.6}}
    )
    result = provider.analyze(AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(2)))
    assert fake.requests("deepgram")[0].query["model"] == "nova-2"
    assert result.cost_usd == pytest.approx(0.02)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (FakeResponse.error(429, retry_after=3), RateLimitedError),
        (FakeResponse.error(503), ProviderServerError),
        (FakeResponse.malformed_body(), MalformedResponseError),
        (FakeResponse.dropped(), ProviderConnectionError),
        (FakeResponse.error(400), BadRequestError),
        (FakeResponse.error(403), AuthenticationError),
    ],
)
def test_errors_are_mapped(fake, make_wav, response, error):
    fake.script("deepgram", "listen", [response])
    with pytest.raises(error) as info:
        deepgram(fake).analyze(AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(1)))
    assert len(fake.requests("deepgram")) == 1  # the SDK's own retries are off
    if error is RateLimitedError:
        assert info.value.retry_after == 3
    if error is AuthenticationError:
        assert "DEEPGRAM_API_KEY" in str(info.value)
    assert SECRET not in str(info.value)


def test_not_audio_is_a_bad_request(fake, tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(BadRequestError, match="corrupt or unsupported"):
        deepgram(fake).analyze(AnalysisTask("r1", "transcription", "audio", audio_path=str(junk)))


def test_supports_only_transcription_of_audio_and_video(fake):
    provider = deepgram(fake)
    assert provider.supports("transcription", "audio") and provider.supports(
        "transcription", "video"
    )
    assert not provider.supports("transcription", "document")
    assert not provider.supports("summary", "audio")
    assert SECRET not in repr(provider)
