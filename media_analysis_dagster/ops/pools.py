"""Provider calls run inside Dagster concurrency pools named after the provider.

One ``analyze`` step may try several providers (its fallback chain), so the pool is taken per
provider call rather than per step: each call claims a slot of pool ``openai``, ``deepgram``, …
through Dagster's own concurrency storage, which is what ``dagster.yaml``
(``concurrency: pools: default_limit``), ``dagster instance concurrency set <pool> <n>`` and the
UI's concurrency page configure and show. Limits hold across all runs of the instance, so a
burst of requests cannot exceed a provider's rate limit. Without a configured limit the claim
is immediate.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from dagster import OpExecutionContext

from ..dagster_internals.concurrency import pool_slots
from ..providers.base import AnalysisTask, ProviderResult


class PooledProvider:
    """A provider whose every call holds a slot of the pool named after it."""

    def __init__(self, provider: Any, slot: Callable[[str], AbstractContextManager[None]]):
        self._provider, self._slot = provider, slot
        self.name: str = provider.name
        self.paid: bool = bool(getattr(provider, "paid", provider.name != "internal"))

    def supports(self, result_type: str, media_type: str) -> bool:
        return bool(self._provider.supports(result_type, media_type))

    def model_for(self, result_type: str) -> str | None:
        model_for = getattr(self._provider, "model_for", None)
        return model_for(result_type) if callable(model_for) else None

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        """The most the call may cost (the budget reserves it before the call)."""
        estimate = getattr(self._provider, "estimate_cost", None)
        return estimate(task) if callable(estimate) else None

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        if self.name == "internal":
            return self._provider.analyze(task)  # type: ignore[no-any-return]
        with self._slot(self.name):
            return self._provider.analyze(task)  # type: ignore[no-any-return]


def pooled(providers: list[Any], context: OpExecutionContext) -> list[PooledProvider]:
    slot = pool_slots(context)
    return [PooledProvider(p, slot) for p in providers]
