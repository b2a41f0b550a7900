"""Provider calls end in time whatever the server does: the real ``openai`` and ``deepgram-sdk``
clients through ``OpenAICompatibleProvider`` / ``DeepgramProvider`` against a server on
127.0.0.1 that trickles an answer one byte every 0.5 s, streams a body without end, or sends its
headers slowly. ``timeout_s`` is the total time of one call; a chain of N attempts takes about
N times that."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from media_analysis_dagster.providers.base import AnalysisTask
from media_analysis_dagster.providers.chain import run_chain
from media_analysis_dagster.providers.deepgram import DeepgramProvider
from media_analysis_dagster.providers.errors import (
    ProviderConnectionError,
    ProviderTimeoutError,
    TransientProviderError,
)
from media_analysis_dagster.providers.openai_compat import OpenAICompatibleProvider
from media_analysis_dagster.providers.registry import build_providers
from media_analysis_dagster.providers.specs import ALL_SPECS
from media_analysis_fixtures.stretching_server import stretching_server

from .conftest import SECRET

DEADLINE_S = 1.0
SLACK_S = 0.8  # SDK overhead and scheduling on a busy 2-core machine
SUMMARY = AnalysisTask("r1", "summary", "video", prompt="Summarise.")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with stretching_server() as url:
        yield url


def openai_at(server: str, mode: str, **kwargs: object) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        ALL_SPECS["openai"],
        api_key=SECRET,
        base_url=f"{server}/{mode}/v1",
        timeout_s=DEADLINE_S,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_prompt_answer_still_works(server: str) -> None:
    result = openai_at(server, "ok").analyze(SUMMARY)
    assert result.content == "A slow answer." and result.token_count == 9


@pytest.mark.parametrize("mode", ["trickle", "slowheaders"])
def test_openai_gives_up_at_the_deadline(server: str, mode: str) -> None:
    provider = openai_at(server, mode)
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        provider.analyze(SUMMARY)
    assert time.monotonic() - started < DEADLINE_S + SLACK_S
    provider.close()


def test_openai_endless_body_ends_at_the_deadline_or_the_cap(server: str) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        openai_at(server, "endless").analyze(SUMMARY)  # 64 MiB cap: the deadline comes first
    assert time.monotonic() - started < DEADLINE_S + SLACK_S
    capped = openai_at(server, "endless", max_response_bytes=256 * 1024)
    with pytest.raises(ProviderConnectionError, match="over 262144 bytes"):
        capped.analyze(SUMMARY)


def test_deepgram_gives_up_at_the_deadline(server: str, make_wav) -> None:
    provider = DeepgramProvider(api_key=SECRET, base_url=f"{server}/trickle", timeout_s=DEADLINE_S)
    task = AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(1.0))
    started = time.monotonic()
    with pytest.raises(ProviderTimeoutError):
        provider.analyze(task)
    assert time.monotonic() - started < DEADLINE_S + SLACK_S
    provider.close()


def test_registry_passes_the_deadline_and_the_cap() -> None:
    enabled = build_providers(
        {"openai": SECRET, "deepgram": SECRET},
        {},
        timeout_s=3.0,
        max_response_bytes=1234,
    )
    for name in ("openai", "deepgram"):
        provider = enabled[name]
        assert (provider.timeout_s, provider.max_response_bytes) == (3.0, 1234)  # type: ignore[attr-defined]


def test_a_chain_of_attempts_takes_about_n_deadlines(server: str) -> None:
    attempts = 3
    provider = openai_at(server, "trickle")
    started = time.monotonic()
    outcome = run_chain(
        SUMMARY,
        [provider],
        retry_kwargs={"attempts": attempts, "base_delay": 0.01, "max_delay": 0.02},
    )
    elapsed = time.monotonic() - started
    [attempt] = outcome.attempts
    assert outcome.result is None and attempt.status == "error" and attempt.retries == 2
    assert attempt.error_type == "ProviderTimeoutError"
    assert issubclass(ProviderTimeoutError, TransientProviderError)
    assert attempts * DEADLINE_S * 0.9 <= elapsed < attempts * DEADLINE_S + SLACK_S + 0.5, elapsed
