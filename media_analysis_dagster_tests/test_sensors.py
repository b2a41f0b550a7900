"""``pending_requests_sensor`` against a real Dagster instance, on SQLite and PostgreSQL tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    SkipReason,
    instance_for_test,
)

from media_analysis_dagster.db.store import Store
from media_analysis_dagster.definitions import build_definitions
from media_analysis_dagster.jobs import media_analysis_job
from media_analysis_dagster.settings import load_settings
from media_analysis_dagster.tags import RUN_KEY_TAG, TAG_MEDIA_TYPE, TAG_REQUEST_ID, TAG_SOURCE
from media_analysis_dagster.triggers.pending_scan import scan_pending
from media_analysis_dagster.triggers.sensors import (
    canceled_run_sync_sensor,
    failed_run_sync_sensor,
)
from media_analysis_fixtures import make_video
from media_analysis_fixtures.resources import resources_from_env

from .sensor_helpers import (
    create_run_for,
    create_runs,
    end_as_cancelled,
    new_rows,
    run_requests,
    sensor_named,
    set_status,
    set_times,
    sync,
    tick,
)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


def launch(instance: DagsterInstance, db_url: str) -> list:
    return run_requests(tick(sensor_named("pending_requests_sensor"), instance, db_url))


def test_pending_rows_launch_once_in_creation_order(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    ids = new_rows(store, 3)
    requests = launch(instance, db_url)
    assert [rr.run_key for rr in requests] == [f"{rid}:0" for rid in ids]
    first = requests[0]
    assert first.tags == {TAG_REQUEST_ID: ids[0], TAG_MEDIA_TYPE: "video", TAG_SOURCE: "sensor"}
    config = first.run_config["ops"]["register_request"]["config"]
    assert config["request_id"] == ids[0] and config["source_endpoint"] == "sensor"
    create_runs(instance, requests)
    again = tick(sensor_named("pending_requests_sensor"), instance, db_url)
    assert run_requests(again) == [] and isinstance(again[0], SkipReason)
    assert "3 in flight" in (again[0].skip_message or "")


def test_late_committed_older_row_is_picked_up(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    [first] = new_rows(store, 1)
    create_runs(instance, launch(instance, db_url))
    [late] = new_rows(store, 1)
    set_times(store, late, created_at=datetime.now(UTC) - timedelta(hours=1))
    assert [rr.run_key for rr in launch(instance, db_url)] == [f"{late}:0"]
    assert first != late


def test_failed_then_repended_request_runs_again(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    [rid] = new_rows(store, 1)
    [run] = create_runs(instance, launch(instance, db_url))
    # the run claims the row, a step fails (the ops mark the row), the run fails
    store.claim_request(rid)
    store.fail_request(rid, "The media could not be read.", {"run_id": run.run_id})
    instance.report_run_failed(run)
    assert launch(instance, db_url) == [], "a failed row is not pending"
    set_status(store, rid, "pending")
    [again] = launch(instance, db_url)
    assert again.run_key == f"{rid}:1"
    # a key already taken (runs deleted, or made by hand) is skipped over, never reused
    create_run_for(
        instance, rid, DagsterRunStatus.FAILURE, **{RUN_KEY_TAG: f"{rid}:2"}
    )  # created after the row ended: the row did not end after it
    assert launch(instance, db_url) == []
    store.fail_request(rid, "Again.", {})
    set_status(store, rid, "pending")
    assert [rr.run_key for rr in launch(instance, db_url)] == [f"{rid}:3"]


def test_run_that_ended_before_claiming_waits_for_the_status_sensors(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    """A launch failure leaves the row pending: relaunching it would loop on every failure.
    Once the failure sensor has recorded it, a re-pended row runs again."""
    [rid] = new_rows(store, 1)
    [run] = create_runs(instance, launch(instance, db_url))
    event = instance.report_run_failed(run)
    result = tick(sensor_named("pending_requests_sensor"), instance, db_url)
    assert run_requests(result) == [] and "1 waiting" in (result[0].skip_message or "")
    sync(failed_run_sync_sensor, instance, db_url, run.run_id, event)
    assert store.get_status(rid) == "failed"
    set_status(store, rid, "pending")
    assert [rr.run_key for rr in launch(instance, db_url)] == [f"{rid}:1"]


def test_row_cancelled_before_its_run_was_created_can_be_repended(
    store: Store, instance: DagsterInstance, db_url: str
) -> None:
    """Cancelled (completed_at set) between the RunRequest and the run's creation: the run is
    stopped, the cancellation is recorded, and a later re-pend is a new episode."""
    [rid] = new_rows(store, 1)
    requests = launch(instance, db_url)
    end_as_cancelled(store, rid, "Cancelled by the user.", {})
    [run] = create_runs(instance, requests)
    tick(sensor_named("cancellation_sensor"), instance, db_url)
    [record] = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.RUN_CANCELED
    ).records
    event = record.event_log_entry.dagster_event
    assert event is not None
    sync(canceled_run_sync_sensor, instance, db_url, run.run_id, event)
    row = store.get_request(rid, with_children=False)
    assert row is not None and row["error_message"] == "Cancelled by the user."
    set_status(store, rid, "pending")
    assert [rr.run_key for rr in launch(instance, db_url)] == [f"{rid}:1"]


def test_cancelled_rows_are_skipped(store: Store, instance: DagsterInstance, db_url: str) -> None:
    keep, cancelled, by_hand = new_rows(store, 3)
    end_as_cancelled(store, cancelled, "Cancelled by n8n.", {})
    set_status(store, by_hand, "cancelled")
    assert [rr.tags[TAG_REQUEST_ID] for rr in launch(instance, db_url)] == [keep]


def test_row_cancelled_while_the_tick_runs_is_not_launched(
    store: Store, instance: DagsterInstance
) -> None:
    """Re-checked just before launch; and the rows after it, which move up a place in the
    pending order, are still all read by the same tick."""
    ids = new_rows(store, 5)

    def statuses(request_ids: list[str]) -> dict[str, str]:
        set_status(store, ids[0], "cancelled")  # an operator, between the read and the launch
        return store.statuses(request_ids)

    scan = scan_pending(
        page=lambda limit, offset: store.pending_page(limit=limit, offset=offset),
        statuses=statuses,
        instance=instance,
        job_name=media_analysis_job.name,
        batch=10,
        page_size=4,
        max_scanned=100,
        time_budget_s=30,
    )
    assert [launch.request_id for launch in scan.launches] == ids[1:]


def test_batch_size_and_in_flight_runs(
    store: Store, instance: DagsterInstance, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_SENSOR_BATCH", "2")
    ids = new_rows(store, 5)
    other_way = create_run_for(instance, ids[0], DagsterRunStatus.STARTED)
    first = launch(instance, db_url)
    assert [rr.tags[TAG_REQUEST_ID] for rr in first] == ids[1:3], "row 0 has a run in flight"
    create_runs(instance, first, DagsterRunStatus.STARTING)
    second = launch(instance, db_url)
    assert [rr.tags[TAG_REQUEST_ID] for rr in second] == ids[3:5]
    create_runs(instance, second)
    assert launch(instance, db_url) == []
    instance.report_run_canceled(other_way)  # ended without ending the row: wait
    assert launch(instance, db_url) == []


def test_sensor_run_request_runs_the_job_end_to_end(
    store: Store, instance: DagsterInstance, db_url: str, tmp_path: Path
) -> None:
    """The run config and tags the sensor yields are what the job accepts."""
    (tmp_path / "media").mkdir()
    video = make_video(tmp_path / "media" / "clip.mp4", duration=2.0, size=(160, 120))
    rid = store.create_request(media_type="video", media_path=str(video))["request_id"]
    [request] = launch(instance, db_url)
    result = media_analysis_job.execute_in_process(
        instance=instance,
        run_config=request.run_config,
        tags={**request.tags, RUN_KEY_TAG: request.run_key or ""},
        resources=resources_from_env(
            MEDIA_ANALYSIS_DATABASE_URL=db_url,
            MEDIA_ANALYSIS_DATA_DIR=str(tmp_path / "data"),
            MEDIA_ANALYSIS_MEDIA_ROOTS=str(tmp_path / "media"),
        ),
    )
    assert result.success and store.get_status(rid) == "completed"
    assert launch(instance, db_url) == []


def test_sensors_load_with_the_job_and_the_database_resource() -> None:
    defs = build_definitions(load_settings())
    Definitions.validate_loadable(defs)
    names = {s.name for s in defs.sensors or []}
    assert names == {
        "pending_requests_sensor",
        "failed_run_sync_sensor",
        "canceled_run_sync_sensor",
        "cancellation_sensor",
        "run_liveness_sensor",
        "callback_delivery_sensor",
    }


def test_sensor_settings_reach_the_sensors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_SENSOR_INTERVAL_S", "7")
    monkeypatch.setenv("MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S", "11")
    monkeypatch.setenv("MEDIA_ANALYSIS_LIVENESS_INTERVAL_S", "13")
    monkeypatch.setenv("MEDIA_ANALYSIS_CALLBACK_INTERVAL_S", "17")
    defs = build_definitions(load_settings())
    got = {
        name: defs.resolve_sensor_def(name).minimum_interval_seconds
        for name in (
            "pending_requests_sensor",
            "cancellation_sensor",
            "run_liveness_sensor",
            "callback_delivery_sensor",
        )
    }
    assert got == {
        "pending_requests_sensor": 7,
        "cancellation_sensor": 11,
        "run_liveness_sensor": 13,
        "callback_delivery_sensor": 17,
    }
