"""A provider pool of one slot gives one slot, whichever processes (run workers on several
hosts) claim it at the same moment, on PostgreSQL.

Dagster 1.13.27's claim is a ``SELECT … FOR UPDATE SKIP LOCKED`` and an ``UPDATE`` in two
autocommit statements: four processes claiming a one-slot pool at the same instant got two
slots in 4 of 15 trials here. ``dagster_internals.concurrency.claim_slot`` serializes the claims
of a pool with an advisory lock; this races real processes against it.
"""

from __future__ import annotations

import multiprocessing
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_analysis_fixtures import pg
from media_analysis_fixtures.processes import ROOT

pytestmark = [pytest.mark.postgres]

PROCESSES = 4
TRIALS = 12


def _claimer(barrier: Any, results: Any, trials: int) -> None:
    """One run worker: each trial, a new run claims the pool once, all processes together."""
    from dagster import DagsterInstance, DagsterRun

    from media_analysis_dagster.dagster_internals.concurrency import claim_slot
    from media_analysis_dagster.dagster_internals.private_api import InstanceConcurrencyContext

    with DagsterInstance.get() as instance:
        for _ in range(trials):
            run = instance.add_run(DagsterRun(job_name="j", run_id=str(uuid.uuid4())))
            with InstanceConcurrencyContext(instance, run) as concurrency:
                concurrency.get_pool_info("openai")  # its first query, out of the race
                barrier.wait()
                results.put((run.run_id, claim_slot(concurrency, instance, "openai", "k")))
                barrier.wait()  # the parent counts and frees the slot
                barrier.wait()


@pytest.fixture
def dagster_db(pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from dagster import DagsterInstance

    name = pg.create_database(pg_admin_url, prefix="ma_pool_dagster")
    shutil.copyfile(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg.with_database(pg_admin_url, name))
    try:
        with DagsterInstance.get() as instance:
            yield instance
    finally:
        pg.drop_database(pg_admin_url, name)


@pytest.mark.timeout(300)
def test_simultaneous_claims_from_processes_get_one_slot(dagster_db: Any) -> None:
    dagster_db.event_log_storage.set_concurrency_slots("openai", 1)
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(PROCESSES + 1), spawn.Queue()
    children = [
        spawn.Process(target=_claimer, args=(barrier, results, TRIALS)) for _ in range(PROCESSES)
    ]
    for child in children:
        child.start()
    granted = []
    try:
        for _ in range(TRIALS):
            barrier.wait(timeout=120)
            barrier.wait(timeout=60)
            claims = [results.get(timeout=30) for _ in children]
            granted.append(sum(ok for _, ok in claims))
            for run_id, _ in claims:
                dagster_db.event_log_storage.free_concurrency_slots_for_run(run_id)
            barrier.wait(timeout=60)
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
    assert granted == [1] * TRIALS, granted
