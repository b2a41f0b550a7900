"""Slots of Dagster's concurrency pools, claimed from inside a step.

Dagster claims a pool slot per *step* (an op's ``pool``); one ``analyze`` step may walk a fallback
chain across several providers, so ``pipeline/pools.py`` claims a slot per provider *call* instead.
That uses Dagster's own concurrency storage through ``InstanceConcurrencyContext``, the private
class its executors use, so the UI's concurrency page, ``dagster.yaml``'s
``concurrency: pools:`` and ``dagster instance concurrency set`` all apply.

On PostgreSQL, Dagster 1.13.27 claims a slot with a ``SELECT … FOR UPDATE SKIP LOCKED`` and an
``UPDATE`` in two autocommit statements, so the row lock is gone before the update: claimers
that arrive together (runs started together, on one host or several) can take the same free
slot (four processes claiming a one-slot pool at once got two slots in 4 of 15 trials; the
Celery deployment's pool test races them). ``claim_slot`` serializes the claims of one pool
with a PostgreSQL advisory lock taken around Dagster's claim.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from dagster import DagsterInstance, OpExecutionContext
from sqlalchemy import text

from media_analysis_dagster.net.backoff import backoff_delay

from .private_api import InstanceConcurrencyContext


class PoolTimeoutError(Exception):
    """No slot of the provider's pool became free in time."""


def claim_slot(concurrency: Any, instance: DagsterInstance, pool: str, key: str) -> bool:
    """``concurrency.claim(pool, key)``, one claimer of ``pool`` at a time on PostgreSQL (see
    the module docstring); elsewhere Dagster's claim as it is.

    The storage is told apart by its class, never by opening a connection first: SQLite's event
    log storage guards every connection with one non-reentrant lock, so holding a connection
    while Dagster's claim opens its own deadlocks the step (and every thread that logs an event).
    """
    from dagster_postgres.event_log import PostgresEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, PostgresEventLogStorage):
        return bool(concurrency.claim(pool, key))
    with storage.index_connection() as conn:
        # Try, never wait: a waiter would hold a pooled connection the claim itself needs.
        lock = text("SELECT pg_try_advisory_lock(hashtext(:name))")
        unlock = text("SELECT pg_advisory_unlock(hashtext(:name))")
        name = {"name": f"dagster-pool:{pool}"}
        if not conn.execute(lock, name).scalar():
            return False  # another claimer of this pool is at it: poll again
        try:
            return bool(concurrency.claim(pool, key))
        finally:
            conn.execute(unlock, name)


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
            while not claim_slot(concurrency, context.instance, pool, key):
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
