"""``run_liveness_sensor``: runs whose worker process is gone are failed, and their rows follow.

Real processes (a ``sleep`` started and killed here, so its pid is really dead), a real Dagster
instance and the real run-status sensor; nothing is mocked.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    SkipReason,
    build_sensor_context,
    instance_for_test,
)

from media_analysis_dagster.dagster_internals.executor import (
    TAG_RUN_WORKER,
    process_start_ticks,
    worker_identity,
)
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.triggers.run_liveness import Worker
from media_analysis_dagster.triggers.sensors import failed_run_sync_sensor

from ..sensor_helpers import create_run_for, new_rows, sensor_named, sync


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


@pytest.fixture
def dead_worker() -> str:
    """The worker tag of a process that existed and was killed (and reaped)."""
    child = subprocess.Popen(["sleep", "60"])
    identity = worker_identity(child.pid)
    child.kill()
    child.wait()
    return identity


def evaluate(instance: DagsterInstance) -> str:
    with build_sensor_context(instance=instance) as context:
        result = sensor_named("run_liveness_sensor")(context)
    assert isinstance(result, SkipReason)
    return str(result.skip_message)


def status(instance: DagsterInstance, run_id: str) -> DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def test_live_dead_and_reused_pids() -> None:
    me = Worker.parse(worker_identity())
    assert me is not None and me.host == socket.gethostname() and not me.is_gone()
    assert Worker(me.host, me.pid, me.start_ticks + 1).is_gone(), "another process, same pid"
    child = subprocess.Popen(["sleep", "60"])
    worker = Worker.parse(worker_identity(child.pid))
    assert worker is not None and not worker.is_gone()
    child.kill()
    child.wait()
    assert worker.is_gone() and process_start_ticks(child.pid) is None
    assert Worker.parse("bad") is None and Worker.parse("h:1:x") is None


def test_dead_worker_fails_run_and_row(
    instance: DagsterInstance, store: Store, db_url: str, dead_worker: str
) -> None:
    [rid, alive_rid] = new_rows(store, 2)
    assert store.claim_request(rid) and store.claim_request(alive_rid)
    dead = create_run_for(instance, rid, DagsterRunStatus.STARTED, **{TAG_RUN_WORKER: dead_worker})
    alive = create_run_for(
        instance, alive_rid, DagsterRunStatus.STARTED, **{TAG_RUN_WORKER: worker_identity()}
    )
    assert evaluate(instance).startswith("1 run(s)")
    assert status(instance, dead.run_id) == DagsterRunStatus.FAILURE
    assert status(instance, alive.run_id) == DagsterRunStatus.STARTED
    [failure] = instance.get_records_for_run(
        dead.run_id, of_type=DagsterEventType.RUN_FAILURE
    ).records
    sync(
        failed_run_sync_sensor, instance, db_url, dead.run_id, failure.event_log_entry.dagster_event
    )
    row = store.get_request(rid, with_children=False)
    assert row is not None and row["status"] == "failed"
    pid = dead_worker.split(":")[1]
    assert row["error_message"] == (
        f"The Dagster run {dead.run_id} failed: The run worker (pid {pid} on host "
        f"{socket.gethostname()}) is gone: the code server or the worker died."
    )
    assert row["error_details"]["error_type"] == "RunWorkerGone"
    assert evaluate(instance).startswith("0 run(s)"), "a failed run is not reported twice"


def test_other_hosts_and_inherited_tags_are_left_alone(
    instance: DagsterInstance, dead_worker: str
) -> None:
    elsewhere = dead_worker.replace(socket.gethostname(), "some-pod-7f9c", 1)
    r1, r2, r3 = (str(uuid.uuid4()) for _ in range(3))  # request ids, as run config wants them
    remote = create_run_for(instance, r1, DagsterRunStatus.STARTED, **{TAG_RUN_WORKER: elsewhere})
    parent = create_run_for(instance, r2, DagsterRunStatus.FAILURE, **{TAG_RUN_WORKER: dead_worker})
    retry = create_run_for(
        instance,
        r2,
        DagsterRunStatus.STARTED,
        **{TAG_RUN_WORKER: dead_worker, "dagster/parent_run_id": parent.run_id},
    )
    untagged = create_run_for(instance, r3, DagsterRunStatus.STARTED)
    assert evaluate(instance).startswith("0 run(s)")
    for run in (remote, retry, untagged):
        assert status(instance, run.run_id) == DagsterRunStatus.STARTED
