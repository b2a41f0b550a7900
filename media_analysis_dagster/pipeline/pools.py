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

from dagster import OpExecutionContext

from ..dagster_internals.concurrency import pool_slots
from ..providers.base import AnalysisTask, Provider, ProviderResult


class PooledProvider:
    """A provider whose every paid call holds a slot of the pool named after it."""

    def __init__(self, provider: Provider, slot: Callable[[str], AbstractContextManager[None]]):
        self._provider, self._slot = provider, slot
        self.name = provider.name
        self.paid = provider.paid

    def supports(self, result_type: str, media_type: str) -> bool:
        return self._provider.supports(result_type, media_type)

    def model_for(self, result_type: str) -> str | None:
        return self._provider.model_for(result_type)

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        """The most the call may cost (the budget reserves it before the call)."""
        return self._provider.estimate_cost(task)

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        if not self.paid:  # offline work needs no provider slot
            return self._provider.analyze(task)
        with self._slot(self.name):
            return self._provider.analyze(task)

    def close(self) -> None:
        """The wrapped provider belongs to the registry, which closes it."""


def pooled(providers: list[Provider], context: OpExecutionContext) -> list[Provider]:
    slot = pool_slots(context)
    return [PooledProvider(p, slot) for p in providers]
