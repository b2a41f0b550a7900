"""Claiming a provider pool's slot on the storage ``make demo`` and the tests use (SQLite):
Dagster's claim runs as it is, and never while a connection is held (SQLite's event log storage
guards connections with one non-reentrant lock: holding one while claiming hung a whole run)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRun

from media_analysis_dagster.dagster_internals.concurrency import claim_slot
from media_analysis_dagster.dagster_internals.private_api import InstanceConcurrencyContext


def _claims(instance: DagsterInstance, pool: str, count: int) -> list[bool]:
    """``count`` claims of ``pool`` by one new run, each in the calling thread."""
    run = instance.add_run(DagsterRun(job_name="j", run_id=str(uuid.uuid4())))
    with InstanceConcurrencyContext(instance, run) as concurrency:
        return [claim_slot(concurrency, instance, pool, f"k{i}") for i in range(count)]


def test_sqlite_claims_complete_and_respect_the_limit(tmp_path: Path) -> None:
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("openai", 1)
        out: dict[str, Any] = {}

        def claim() -> None:
            out["claims"] = _claims(instance, "openai", 2)

        worker = threading.Thread(target=claim, daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "claiming a slot on SQLite deadlocked"
        assert out["claims"] == [True, False]  # one slot: the second claim waits
