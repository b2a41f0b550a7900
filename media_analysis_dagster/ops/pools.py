"""Provider calls run inside Dagster concurrency pools named after the provider.

One ``analyze`` step may try several providers (its fallback chain), so the pool is taken per
provider call rather than per step: each call claims a slot of pool ``openai``, ``deepgram``, …
through Dagster's own concurrency storage, which is what ``dagster.yaml``
(``concurrency: pools: default_limit``), ``dagster instance concurrency set <pool> <n>`` and the
UI's concurrency page configure and show. Limits hold across all runs of the instance, so a
burst of requests cannot exceed a provider's rate limit. Without a configured limit the claim
is immediate.
"""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from dagster import OpExecutionContext
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

from ..providers.base import AnalysisTask, ProviderResult


class PoolTimeoutError(Exception):
    """No slot of the provider's pool became free in time."""


def pool_slots(
    context: OpExecutionContext, *, max_wait_s: float = 900.0
) -> Callable[[str], AbstractContextManager[None]]:
    """A factory of ``with slot(pool):`` blocks for this step."""

    @contextmanager
    def slot(pool: str) -> Iterator[None]:
        step_key = context.get_step_execution_context().step.key
        key = f"{step_key}:{pool}:{uuid.uuid4().hex[:8]}"
        with InstanceConcurrencyContext(context.instance, context.run) as concurrency:
            deadline, delay = time.monotonic() + max_wait_s, 0.05
            while not concurrency.claim(pool, key):
                if time.monotonic() > deadline:
                    raise PoolTimeoutError(f"no free slot in pool {pool} after {max_wait_s:.0f}s")
                time.sleep(delay)
                delay = min(1.0, delay * 2)
            try:
                yield
            finally:
                concurrency.free_step(key)

    return slot


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

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        if self.name == "internal":
            return self._provider.analyze(task)  # type: ignore[no-any-return]
        with self._slot(self.name):
            return self._provider.analyze(task)  # type: ignore[no-any-return]


def pooled(providers: list[Any], context: OpExecutionContext) -> list[PooledProvider]:
    slot = pool_slots(context)
    return [PooledProvider(p, slot) for p in providers]
