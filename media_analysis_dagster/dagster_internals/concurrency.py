"""Slots of Dagster's concurrency pools, claimed from inside a step.

Dagster claims a pool slot per *step* (an op's ``pool``); one ``analyze`` step may walk a fallback
chain across several providers, so ``ops/pools.py`` claims a slot per provider *call* instead.
That uses Dagster's own concurrency storage through ``InstanceConcurrencyContext``, the private
class its executors use, so the UI's concurrency page, ``dagster.yaml``'s
``concurrency: pools:`` and ``dagster instance concurrency set`` all apply.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from dagster import OpExecutionContext

from media_analysis_dagster.net.backoff import backoff_delay

from .private_api import InstanceConcurrencyContext


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
            deadline, polls = time.monotonic() + max_wait_s, 0
            while not concurrency.claim(pool, key):
                if time.monotonic() > deadline:
                    raise PoolTimeoutError(f"no free slot in pool {pool} after {max_wait_s:.0f}s")
                # Jittered, so steps waiting for the same pool do not poll in lockstep.
                time.sleep(backoff_delay(polls, base_delay=0.05, max_delay=1.0))
                polls += 1
            try:
                yield
            finally:
                concurrency.free_step(key)

    return slot
