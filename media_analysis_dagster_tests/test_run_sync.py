"""The run-status sensors and ``cancellation_sensor`` against a real Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    ExecuteInProcessResult,
    RunConfig,
    build_sensor_context,
    instance_for_test,
)

from media_analysis_dagster.db.store import Store
from media_analysis_dagster.jobs import media_analysis_job
from media_analysis_dagster.pipeline.request_config import RequestConfig
from media_analysis_dagster.tags import TAG_REQUEST_ID, TAG_ROW_SYNCED
from media_analysis_dagster.triggers.sensors import (
    canceled_run_sync_sensor,
    failed_run_sync_sensor,
)
from media_analysis_fixtures.resources import resources_from_env

from .sensor_helpers import (
    create_run_for,
    new_rows,
    sensor_named,
    sensor_resources,
    set_status,
    sync,
    tick,
)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


def processing_row(store: Store) -> str:
    [rid] = new_rows(store, 1)
    assert store.claim_request(rid)
    return rid


def test_failure_outside_the_ops_marks_the_row_failed(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    rid = processing_row(store)
    run = create_run_for(instance, rid, DagsterRunStatus.STARTED)
    event = instance.report_run_failed(run)  # e.g. the run worker crashed
    sync(failed_run_sync_sensor, instance, db_url, run.run_id, event)
    row = store.get_request(rid, with_children=False)
    assert row is not None and row["status"] == "failed"
    assert row["error_message"] == (
        f"The Dagster run {run.run_id} failed: This run has been marked as failed from outside "
        "the execution context."
    )
    details = row["error_details"]
    assert details["run_id"] == run.run_id and details["step"] is None
    assert details["error_type"] and details["message"] and details["hints"]
    synced = instance.get_run_by_id(run.run_id)
    assert synced is not None and synced.tags[TAG_ROW_SYNCED] == "true"


def test_killed_worker_is_named_in_the_message(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    """What the code server records when a run worker dies, as in the integration test."""
    from dagster._grpc.server import DagsterApiServer
    from dagster._utils import get_run_crash_explanation

    rid = processing_row(store)
    run = create_run_for(instance, rid, DagsterRunStatus.STARTED)
    instance.report_engine_event(
        get_run_crash_explanation(f"Run execution process for {run.run_id}", -9),
        run,
        cls=DagsterApiServer,  # the message then starts with "[DagsterApiServer] "
    )
    sync(failed_run_sync_sensor, instance, db_url, run.run_id, instance.report_run_failed(run))
    row = store.get_request(rid, with_children=False)
    assert row is not None and row["status"] == "failed"
    assert row["error_message"] == (
        f"The Dagster run {run.run_id} failed: Run execution process for {run.run_id} was "
        "terminated by signal 9 (SIGKILL)."
    )
    details = row["error_details"]
    assert details["error_type"] == "RunWorkerCrash"
    assert details["failure_reason"] == "UNEXPECTED_TERMINATION"
    assert any("stopped unexpectedly" in h for h in details["hints"])


def test_run_that_will_be_retried_leaves_the_row(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    rid = processing_row(store)
    run = create_run_for(instance, rid, DagsterRunStatus.STARTED, **{"dagster/will_retry": "true"})
    sync(failed_run_sync_sensor, instance, db_url, run.run_id, instance.report_run_failed(run))
    assert store.get_status(rid) == "processing"
    retried = instance.get_run_by_id(run.run_id)
    assert retried is not None and TAG_ROW_SYNCED not in retried.tags


def test_older_run_does_not_touch_the_row_a_newer_run_owns(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    rid = processing_row(store)
    old = create_run_for(instance, rid, DagsterRunStatus.STARTED)
    create_run_for(instance, rid, DagsterRunStatus.STARTED)  # a re-execution, say
    sync(failed_run_sync_sensor, instance, db_url, old.run_id, instance.report_run_failed(old))
    assert store.get_status(rid) == "processing"


def _execute(
    instance: DagsterInstance, db_url: str, tmp_path: Path, request_id: str
) -> ExecuteInProcessResult:
    return media_analysis_job.execute_in_process(
        instance=instance,
        run_config=RunConfig(ops={"register_request": RequestConfig(request_id=request_id)}),
        tags={TAG_REQUEST_ID: request_id},
        resources=resources_from_env(
            MEDIA_ANALYSIS_DATABASE_URL=db_url,
            MEDIA_ANALYSIS_DATA_DIR=str(tmp_path / "data"),
            MEDIA_ANALYSIS_MEDIA_ROOTS=str(tmp_path),
        ),
        raise_on_error=False,
    )


def test_real_failed_runs(
    store: Store, instance: DagsterInstance, db_url: str, tmp_path: Path
) -> None:
    """A step that raises: the ops' own message stays. A run that found its row held by
    another run never owned it: the row stays with that run."""
    rid = store.create_request(media_type="video", media_path=str(tmp_path / "missing.mp4"))[
        "request_id"
    ]
    result = _execute(instance, db_url, tmp_path, rid)
    assert not result.success
    by_ops = store.get_request(rid, with_children=False)
    assert by_ops is not None and by_ops["status"] == "failed"
    failure = result.get_run_failure_event()
    sync(failed_run_sync_sensor, instance, db_url, result.run_id, failure)
    after = store.get_request(rid, with_children=False)
    assert after is not None and after["error_message"] == by_ops["error_message"]
    assert after["error_details"] == by_ops["error_details"]

    held = processing_row(store)
    loser = _execute(instance, db_url, tmp_path, held)
    assert not loser.success
    sync(failed_run_sync_sensor, instance, db_url, loser.run_id, loser.get_run_failure_event())
    assert store.get_status(held) == "processing"


def test_several_failures_in_one_tick(store: Store, instance: DagsterInstance, db_url: str) -> None:
    """Through Dagster's own run-status machinery: every failure of a tick is handled."""
    with build_sensor_context(instance=instance, resources=sensor_resources(db_url)) as context:
        failed_run_sync_sensor.evaluate_tick(context)  # the first tick only sets the cursor
        rows = [processing_row(store) for _ in range(3)]
        for rid in rows:
            config = RunConfig(ops={"register_request": RequestConfig(request_id=rid)})
            run = instance.create_run_for_job(
                job_def=media_analysis_job,
                run_config=config.to_config_dict(),
                tags={TAG_REQUEST_ID: rid},
            )
            instance.report_run_failed(run)
        failed_run_sync_sensor.evaluate_tick(context)
    assert [store.get_status(rid) for rid in rows] == ["failed"] * 3


def test_cancelled_run_marks_the_row_cancelled(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    rid = processing_row(store)
    run = create_run_for(instance, rid, DagsterRunStatus.STARTED)
    sync(canceled_run_sync_sensor, instance, db_url, run.run_id, instance.report_run_canceled(run))
    row = store.get_request(rid, with_children=False)
    assert row is not None and row["status"] == "cancelled"
    assert row["error_message"] == f"The Dagster run {run.run_id} was cancelled."
    assert row["error_details"]["run_id"] == run.run_id


def test_cancellation_sensor_cancels_queued_runs_of_cancelled_rows(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    by_hand, by_store, still_pending = new_rows(store, 3)
    runs = {rid: create_run_for(instance, rid) for rid in (by_hand, by_store, still_pending)}
    set_status(store, by_hand, "cancelled")  # n8n / an operator: a plain UPDATE
    store.end_request(by_store, "cancelled", "Cancelled by the user.", {"by": "n8n"})
    tick(sensor_named("cancellation_sensor"), instance, db_url)
    status = {rid: instance.get_run_by_id(run.run_id).status for rid, run in runs.items()}  # type: ignore[union-attr]
    assert status == {
        by_hand: DagsterRunStatus.CANCELED,
        by_store: DagsterRunStatus.CANCELED,
        still_pending: DagsterRunStatus.QUEUED,
    }
    hand = store.get_request(by_hand, with_children=False)
    assert (
        hand is not None and hand["completed_at"] and runs[by_hand].run_id in hand["error_message"]
    )
    kept = store.get_request(by_store, with_children=False)
    assert kept is not None and kept["error_message"] == "Cancelled by the user."
    # the run-status sensor then sees the cancelled run and leaves the cancelled row as it is
    [record] = instance.get_records_for_run(
        runs[by_hand].run_id, of_type=DagsterEventType.RUN_CANCELED
    ).records
    sync(
        canceled_run_sync_sensor,
        instance,
        db_url,
        runs[by_hand].run_id,
        record.event_log_entry.dagster_event,
    )
    assert store.get_request(by_hand, with_children=False) == hand
