"""Fallback chains over real providers and the fake server: retries, fallbacks, budget, secrets."""

from __future__ import annotations

import json
import time

import pytest

from media_analysis_dagster.providers.base import AnalysisTask, ProviderResult
from media_analysis_dagster.providers.chain import MemoryBudget, run_chain
from media_analysis_dagster.providers.registry import build_providers, chain_for
from media_analysis_fixtures.fake_providers import FakeResponse

from .conftest import FAST_RETRIES, SECRET


class OfflineSummary:
    """A stand-in for the internal provider (free, offline)."""

    name = "internal"
    paid = False

    def supports(self, result_type: str, media_type: str) -> bool:
        return result_type == "summary"

    def model_for(self, result_type: str) -> str | None:
        return None

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        return 0.0

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        return ProviderResult("summary", "internal", "extractive", None, None, "extractive")

    def close(self) -> None:
        pass


def providers_for(fake, *names, internal=None):
    keys = {n: SECRET for n in names}
    return build_providers(keys, fake.base_urls(), internal=internal)


def test_deepgram_5xx_falls_back_to_groq(fake, make_wav):
    fake.script("deepgram", "listen", [500, 502, 503, 500])
    enabled = providers_for(fake, "deepgram", "groq", "openai")
    task = AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(2.0))
    outcome = run_chain(task, chain_for("transcription", enabled), retry_kwargs=FAST_RETRIES)

    assert outcome.succeeded and outcome.result.provider == "groq"
    assert outcome.result.content == "fake transcript of 2.00 seconds"
    first, second = [a.to_dict() for a in outcome.attempts]
    assert first["provider"] == "deepgram" and first["status"] == "error"
    assert first["error_type"] == "ProviderServerError" and first["retries"] == 3
    assert "HTTP 500" in first["error"] and first["cost_usd"] == 0.0
    assert second["provider"] == "groq" and second["status"] == "success"
    assert second["model"] == "whisper-large-v3-turbo" and second["cost_usd"] > 0
    assert len(fake.requests("deepgram")) == 4 and len(fake.requests("openai")) == 0


def test_429_waits_at_least_retry_after(fake):
    fake.script("openai", "chat", [FakeResponse.error(429, retry_after=1)])
    enabled = providers_for(fake, "openai")
    task = AnalysisTask("r1", "summary", "video", prompt="sum up")
    outcome = run_chain(task, chain_for("summary", enabled), retry_kwargs=FAST_RETRIES)

    assert outcome.succeeded and outcome.attempts[0].retries == 1
    first, second = fake.requests("openai", "chat")
    assert second.at - first.at >= 1.0


def test_401_is_not_retried_and_names_the_key(fake):
    fake.script("openai", "chat", [401])
    enabled = providers_for(fake, "openai")
    outcome = run_chain(
        AnalysisTask("r1", "summary", "video"),
        chain_for("summary", enabled),
        retry_kwargs=FAST_RETRIES,
    )
    assert not outcome.succeeded
    assert len(fake.requests("openai")) == 1
    (attempt,) = outcome.attempts
    assert attempt.error_type == "AuthenticationError" and attempt.retries == 0
    assert "OPENAI_API_KEY" in attempt.error
    assert any("OPENAI_API_KEY" in (a.error or "") for a in outcome.attempts)


@pytest.mark.parametrize("failure", [FakeResponse.malformed_body(), FakeResponse.dropped()])
def test_malformed_and_dropped_are_transient(fake, failure):
    fake.script("minimax", "chat", [failure])
    enabled = providers_for(fake, "minimax")
    task = AnalysisTask("r1", "summary", "document", document_text="A short memo.")
    outcome = run_chain(task, chain_for("summary", enabled), retry_kwargs=FAST_RETRIES)
    assert outcome.succeeded and outcome.result.provider == "minimax"
    assert outcome.attempts[0].retries == 1 and len(fake.requests("minimax")) == 2


def test_budget_cap_skips_paid_calls_but_not_internal(fake):
    enabled = providers_for(fake, "openai", "anthropic", internal=OfflineSummary())
    budget = MemoryBudget(max_usd=0.01, spent_usd=0.01)
    outcome = run_chain(
        AnalysisTask("r1", "summary", "video"), chain_for("summary", enabled), budget=budget
    )
    assert outcome.result.provider == "internal"
    assert [(a.provider, a.status) for a in outcome.attempts] == [
        ("openai", "skipped"),
        ("anthropic", "skipped"),
        ("internal", "success"),
    ]
    assert "budget cap" in outcome.attempts[0].error
    assert fake.requests() == []


def test_budget_accumulates_spend(fake):
    enabled = providers_for(fake, "openai")
    budget = MemoryBudget(max_usd=1.0)
    outcome = run_chain(
        AnalysisTask("r1", "summary", "video"), chain_for("summary", enabled), budget=budget
    )
    assert budget.spent_usd == pytest.approx(outcome.result.cost_usd) and budget.spent_usd > 0
    assert budget.reserved_usd == pytest.approx(0.0, abs=1e-15), "the reservation became spend"
    (attempt,) = outcome.attempts
    assert attempt.estimate_usd >= attempt.cost_usd > 0


def test_unexpected_exception_is_recorded_and_chain_continues(fake):
    class Broken(OfflineSummary):
        name = "broken"

        def analyze(self, task):
            raise RuntimeError("boom")

    outcome = run_chain(AnalysisTask("r1", "summary", "video"), [Broken(), OfflineSummary()])
    assert outcome.result.provider == "internal"
    assert outcome.attempts[0].error == "unexpected RuntimeError: boom"


def test_the_key_never_appears_in_results_or_attempts(fake, make_wav, make_jpegs):
    fake.script("deepgram", "listen", [FakeResponse.error(400, f"key {SECRET} is odd"), 401])
    fake.script("openai", "chat", [FakeResponse.error(500, f"echo {SECRET}")])
    enabled = providers_for(fake, "deepgram", "groq", "openai", "minimax", "anthropic")
    tasks = [
        AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(1.0)),
        AnalysisTask("r1", "transcription", "audio", audio_path=make_wav(1.0, "b.wav")),
        AnalysisTask("r1", "vision_analysis", "video", contact_sheet_paths=make_jpegs(1)),
        AnalysisTask("r1", "summary", "video", prompt="x"),
    ]
    dumped = []
    for task in tasks:
        outcome = run_chain(task, chain_for(task.result_type, enabled), retry_kwargs=FAST_RETRIES)
        assert outcome.succeeded
        dumped.append(json.dumps(outcome.result.to_dict(), default=str))
        dumped.append(json.dumps([a.to_dict() for a in outcome.attempts]))
        dumped.append(repr(outcome))
    dumped.extend(repr(p) for p in enabled.values())
    text = "\n".join(dumped)
    assert "deepgram" in text and "BadRequestError" in text and "AuthenticationError" in text
    assert SECRET not in text
    # …while the key really was sent on the wire.
    assert all(SECRET in r.headers["authorization"] for r in fake.requests())


def test_retry_timing_is_fast_for_transient_errors_without_retry_after(fake):
    fake.script("openai", "chat", [500, 500])
    enabled = providers_for(fake, "openai")
    started = time.monotonic()
    outcome = run_chain(
        AnalysisTask("r1", "summary", "video"),
        chain_for("summary", enabled),
        retry_kwargs=FAST_RETRIES,
    )
    assert outcome.succeeded and outcome.attempts[0].retries == 2
    assert time.monotonic() - started < 2.0


# -- the budget reserves the most a call can cost before making it ---------------------------

OUTPUT_ONLY = {"openai/gpt-4o-mini": {"output_per_mtok": 1_000_000.0}}  # $1 per output token


def test_estimates_bound_the_actual_cost_of_every_paid_call(fake, make_wav, make_jpegs):
    enabled = providers_for(fake, "openai", "groq", "deepgram")
    wav = make_wav(3.0)
    cases = [
        (
            enabled["openai"],
            AnalysisTask(
                "r1", "vision_analysis", "video", prompt="What?", contact_sheet_paths=make_jpegs(2)
            ),
        ),
        (enabled["openai"], AnalysisTask("r1", "summary", "video", document_text="memo " * 500)),
        (enabled["openai"], AnalysisTask("r1", "transcription", "audio", audio_path=wav)),
        (enabled["groq"], AnalysisTask("r1", "transcription", "audio", audio_path=wav)),
        (enabled["deepgram"], AnalysisTask("r1", "transcription", "audio", audio_path=wav)),
    ]
    for provider, task in cases:
        estimate = provider.estimate_cost(task)
        result = provider.analyze(task)
        assert estimate is not None and estimate >= result.cost_usd > 0, (provider.name, task)
    deepgram_task = cases[-1][1]
    assert enabled["deepgram"].estimate_cost(deepgram_task) == pytest.approx(4.0 / 60 * 0.0043)


def test_image_bounds_follow_the_published_formulas():
    from media_analysis_dagster.providers.pricing import image_tokens_bound

    # OpenAI's own examples: 1024² is 4 tiles (765 tokens), 2048x4096 is 6 tiles (1105).
    assert image_tokens_bound("gpt-4o-mini", 1024, 1024) == 2833 + 5667 * 4
    assert image_tokens_bound("gpt-4o-mini", 2048, 4096) == 2833 + 5667 * 6
    assert image_tokens_bound("gpt-4o", 2048, 4096) >= 85 + 170 * 6
    assert image_tokens_bound("claude-haiku-4-5", 1000, 1000) >= 1334  # Anthropic: w*h/750


def test_a_call_that_does_not_fit_is_skipped_and_says_why(fake):
    enabled = providers_for(fake, "openai", internal=OfflineSummary())
    task = AnalysisTask("r1", "summary", "video", prompt="sum up")
    estimate = enabled["openai"].estimate_cost(task)
    budget = MemoryBudget(max_usd=estimate * 1.5, spent_usd=estimate)
    outcome = run_chain(task, chain_for("summary", enabled), budget=budget)
    first = outcome.attempts[0]
    assert (first.provider, first.status, outcome.result.provider) == (
        "openai",
        "skipped",
        "internal",
    )
    assert "budget cap" in first.error and f"${estimate:.4f} spent" in first.error
    assert first.estimate_usd == pytest.approx(estimate, abs=1e-8)
    assert fake.requests() == []
    budget.spent_usd = estimate * 0.5  # now it fits exactly
    assert run_chain(task, chain_for("summary", enabled), budget=budget).result.provider == "openai"


def test_unpriced_models_are_refused_under_a_cap_and_run_without_one(fake):
    keys = {"openai": SECRET}
    models = {"openai": {"summary": "gpt-unpriced-9"}}
    enabled = build_providers(keys, fake.base_urls(), models=models, internal=OfflineSummary())
    task = AnalysisTask("r1", "summary", "video")
    capped = run_chain(task, chain_for("summary", enabled), budget=MemoryBudget(100.0))
    assert [(a.provider, a.status) for a in capped.attempts] == [
        ("openai", "skipped"),
        ("internal", "success"),
    ]
    assert "cannot be bounded" in capped.attempts[0].error
    assert "gpt-unpriced-9" in capped.attempts[0].error and fake.requests() == []
    free = run_chain(task, chain_for("summary", enabled), budget=MemoryBudget(None))
    assert free.result.provider == "openai"


def test_a_failed_call_gives_its_reservation_back(fake):
    fake.script("openai", "chat", [401])
    enabled = providers_for(fake, "openai")
    budget = MemoryBudget(max_usd=1.0)
    outcome = run_chain(
        AnalysisTask("r1", "summary", "video"), chain_for("summary", enabled), budget=budget
    )
    assert outcome.attempts[0].status == "error" and outcome.attempts[0].estimate_usd > 0
    assert (budget.spent_usd, budget.reserved_usd) == (0.0, 0.0)


def test_concurrent_chains_never_hold_more_than_the_cap(fake, make_jpegs):
    """Eight vision calls at once, a cap that fits three: three are made, five are skipped.

    Priced per output token only, so the reservation (16 tokens asked for) is close to what a
    call costs and a cap check made before the calls would have let all eight through.
    """
    from concurrent.futures import ThreadPoolExecutor

    fake.set_latency("openai", 0.5)
    enabled = build_providers({"openai": SECRET}, fake.base_urls(), price_overrides=OUTPUT_ONLY)
    provider = enabled["openai"]
    task = AnalysisTask(
        "r1",
        "vision_analysis",
        "video",
        contact_sheet_paths=make_jpegs(1),
        options={"max_output_tokens": 16},
    )
    estimate = provider.estimate_cost(task)
    assert estimate == pytest.approx(16.0)
    budget = MemoryBudget(max_usd=3 * estimate)
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: run_chain(task, [provider], budget=budget), range(8)))
    statuses = sorted(o.attempts[0].status for o in outcomes)
    assert statuses == ["skipped"] * 5 + ["success"] * 3
    assert len(fake.requests("openai", "chat")) == 3
    spent = sum(o.cost_usd for o in outcomes)
    assert 0 < spent <= 3 * estimate and budget.spent_usd == pytest.approx(spent)
    assert budget.reserved_usd == pytest.approx(0.0, abs=1e-9)
