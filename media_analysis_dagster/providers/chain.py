"""Fallback chains: try providers in order until one succeeds, and record every attempt.

The attempts become ``provider_chain`` on the request row, so an operator can see why the
transcript came from groq (deepgram answered 503 three times) and what each call cost. A chain
never raises for a provider failure: the outcome says whether anything succeeded, and the
``analyze`` op decides whether a missing result fails the request.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .base import AnalysisTask, Provider, ProviderResult
from .errors import ProviderError
from .retry import call_with_retries

DEFAULT_CHAINS: dict[str, list[str]] = {
    "transcription": ["deepgram", "groq", "openai"],
    "vision_analysis": ["minimax", "openai", "anthropic", "google"],
    "summary": ["openai", "anthropic", "minimax", "groq", "internal"],
}


@dataclass
class Budget:
    """A request's cost cap; ``spent_usd`` includes what earlier steps already spent."""

    max_usd: float | None
    spent_usd: float = 0.0

    @property
    def exhausted(self) -> bool:
        return self.max_usd is not None and self.spent_usd >= self.max_usd


@dataclass
class Attempt:
    provider: str
    result_type: str
    model: str | None
    status: str  # 'success' | 'error' | 'skipped'
    ms: int = 0
    cost_usd: float = 0.0
    error_type: str | None = None
    error: str | None = None
    retries: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChainOutcome:
    result: ProviderResult | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.result is not None

    @property
    def cost_usd(self) -> float:
        return round(sum(a.cost_usd for a in self.attempts), 8)


def _is_paid(provider: Provider) -> bool:
    return bool(getattr(provider, "paid", provider.name != "internal"))


def _model(provider: Provider, result_type: str) -> str | None:
    model_for = getattr(provider, "model_for", None)
    return model_for(result_type) if callable(model_for) else None


def run_chain(
    task: AnalysisTask,
    providers: Sequence[Provider],
    *,
    budget: Budget | None = None,
    retry_kwargs: Mapping[str, Any] | None = None,
) -> ChainOutcome:
    """First success wins; paid calls are skipped once the budget is reached."""
    outcome = ChainOutcome(result=None)
    for provider in providers:
        if not provider.supports(task.result_type, task.media_type):
            continue
        attempt = Attempt(provider.name, task.result_type, _model(provider, task.result_type), "")
        outcome.attempts.append(attempt)
        if budget is not None and budget.exhausted and _is_paid(provider):
            attempt.status = "skipped"
            attempt.error_type = "BudgetExceededError"
            attempt.error = (
                f"the budget cap of ${budget.max_usd:.4f} was reached "
                f"(${budget.spent_usd:.4f} spent); paid call not made"
            )
            continue

        def count_retry(n: int, _exc: ProviderError, _delay: float, _a: Attempt = attempt) -> None:
            _a.retries = n

        started = time.monotonic()
        try:
            result = call_with_retries(
                functools.partial(provider.analyze, task),
                provider=provider.name,
                on_retry=count_retry,
                **dict(retry_kwargs or {}),
            )
        except ProviderError as exc:
            attempt.status, attempt.error_type = "error", type(exc).__name__
            attempt.error = exc.message
        except Exception as exc:  # a provider bug must not take the other providers down
            attempt.status, attempt.error_type = "error", type(exc).__name__
            attempt.error = f"unexpected {type(exc).__name__}: {exc}"[:400]
        else:
            attempt.status = "success"
            attempt.model = result.model_name or attempt.model
            attempt.cost_usd = result.cost_usd
            if budget is not None:
                budget.spent_usd += result.cost_usd
            outcome.result = result
        finally:
            attempt.ms = int((time.monotonic() - started) * 1000)
        if outcome.result is not None:
            break
    return outcome
