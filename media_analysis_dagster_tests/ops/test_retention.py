"""``retention_cleanup_job`` against real files in a temp data dir and rows on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunConfig, instance_for_test
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import update

from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.db.rows import NewFile
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.jobs.retention import retention_cleanup_job
from media_analysis_dagster.ops.retention import RetentionConfig
from media_analysis_dagster.tags import TAG_REQUEST_ID
from media_analysis_fixtures.resources import resources_from_env

WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run it will retry
NOW = datetime.now(UTC)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def backdate(store: Store, request_id: str, **times: datetime) -> None:
    """Test-only: move a row's timestamps into the past (the library never rewrites them)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(request_id))
            .values(**times)
        )


def finished(store: Store, status: str, age: timedelta) -> str:
    rid = store.create_request(media_type="video", media_url="https://example.com/v.mp4")
    rid = rid["request_id"]
    store.claim_request(rid)
    if status == "completed":
        store.complete_request(rid, confidence_score=None, provider_chain=[], api_costs={})
    else:
        store.end_request(rid, status, "Ended.", {})
    backdate(store, rid, created_at=NOW - age)
    return rid


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def with_files(store: Store, data_dir: Path, rid: str, *extra: Path) -> list[Path]:
    folder = data_dir / "requests" / rid
    frame = write(folder / "frames" / "frame_0001.jpg", 100)
    sheet = write(folder / "contact_sheets" / "sheet_01.jpg", 250)
    stray = write(folder / "audio" / "partial.wav", 50)  # a file without a row goes too
    rows = [NewFile(file_type="frame", file_path=str(frame))]
    rows += [NewFile(file_type="contact_sheet", file_path=str(sheet))]
    rows += [NewFile(file_type="original", file_path=str(p)) for p in extra]
    store.replace_rows(rid, files=rows)
    return [frame, sheet, stray]


def run(instance: DagsterInstance, db_url: str, data_dir: Path, **config: Any) -> dict[str, Any]:
    result = retention_cleanup_job.execute_in_process(
        instance=instance,
        run_config=RunConfig(ops={"plan_retention": RetentionConfig(**config)}),
        resources=resources_from_env(
            MEDIA_ANALYSIS_DATABASE_URL=db_url, MEDIA_ANALYSIS_DATA_DIR=str(data_dir)
        ),
    )
    assert result.success
    report = result.output_for_node("delete_expired_requests")
    [output] = [
        e for e in result.events_for_node("delete_expired_requests") if e.is_successful_output
    ]
    metadata = {k: v.value for k, v in output.step_output_data.metadata.items()}
    assert metadata == report, "the counts are the op's output metadata"
    return report


def test_expired_rows_and_files_go_fresh_and_outside_stay(
    store: Store, db_url: str, data_dir: Path, tmp_path: Path, instance: DagsterInstance
) -> None:
    outside = write(tmp_path / "elsewhere" / "outside.jpg", 10)
    user_input = write(data_dir / "inbox" / "input.mp4", 20)  # inside the data dir, not ours
    old = finished(store, "completed", timedelta(days=40))
    old_files = with_files(store, data_dir, old, outside, user_input)
    cancelled = finished(store, "cancelled", timedelta(days=8))
    kept_failed = finished(store, "failed", timedelta(days=20))
    fresh = finished(store, "completed", timedelta(days=5))
    fresh_files = with_files(store, data_dir, fresh)

    expected = {
        "expired_found": 2,
        "requests_deleted": 2,
        "files_deleted": 3,
        "bytes_freed": 400,
        "paths_skipped_outside_data_dir": 2,
        "dagster_runs_deleted": 0,
        "stuck_requests_failed": 0,
    }
    dry = run(instance, db_url, data_dir, dry_run=True, batch_size=1)
    assert dry == {**expected, "dry_run": True}
    assert all(p.exists() for p in old_files) and store.get_status(old) == "completed"
    assert store.get_status(cancelled) == "cancelled"

    real = run(instance, db_url, data_dir, batch_size=1)  # batch of one: it must loop
    assert real == {**expected, "dry_run": False}
    assert store.get_request(old) is None and store.get_request(cancelled) is None
    assert not any(p.exists() for p in old_files)
    assert not (data_dir / "requests" / old).exists()
    assert outside.exists(), "a path outside the data dir is never deleted"
    assert user_input.exists(), "nor one in the data dir outside requests/"
    assert store.get_status(kept_failed) == "failed" and store.get_status(fresh) == "completed"
    assert all(p.exists() for p in fresh_files)
    assert len(store.get_request(fresh)["files"]) == 2

    again = run(instance, db_url, data_dir)
    assert again["expired_found"] == 0 and again["requests_deleted"] == 0


def test_symlink_out_of_the_data_dir_is_left_alone(
    store: Store, db_url: str, data_dir: Path, tmp_path: Path, instance: DagsterInstance
) -> None:
    target = write(tmp_path / "precious" / "original.mp4", 30)
    rid = finished(store, "failed", timedelta(days=31))
    link = data_dir / "requests" / rid / "original" / "original.mp4"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    store.replace_rows(rid, files=[NewFile(file_type="original", file_path=str(link))])
    report = run(instance, db_url, data_dir)
    assert report["requests_deleted"] == 1 and report["paths_skipped_outside_data_dir"] == 1
    assert report["files_deleted"] == 0
    assert target.exists() and not link.parent.exists()


def processing(store: Store, started_ago: timedelta) -> str:
    rid = store.create_request(media_type="video", media_path="/in/v.mp4")["request_id"]
    store.claim_request(rid)
    backdate(store, rid, created_at=NOW - started_ago, started_at=NOW - started_ago)
    return rid


def test_stuck_requests_are_failed_only_when_their_run_is_gone(
    store: Store, db_url: str, data_dir: Path, instance: DagsterInstance
) -> None:
    no_run = processing(store, timedelta(hours=2))
    ended = processing(store, timedelta(hours=2))
    ended_run = create_run_for_test(
        instance, tags={TAG_REQUEST_ID: ended}, status=DagsterRunStatus.FAILURE
    )
    running = processing(store, timedelta(hours=2))
    create_run_for_test(instance, tags={TAG_REQUEST_ID: running}, status=DagsterRunStatus.STARTED)
    retrying = processing(store, timedelta(hours=2))
    create_run_for_test(
        instance,
        tags={TAG_REQUEST_ID: retrying, WILL_RETRY_TAG: "true"},
        status=DagsterRunStatus.FAILURE,
    )
    recent = processing(store, timedelta(minutes=5))

    dry = run(instance, db_url, data_dir, dry_run=True)
    assert dry["stuck_requests_failed"] == 2
    assert store.get_status(no_run) == store.get_status(ended) == "processing"

    assert run(instance, db_url, data_dir)["stuck_requests_failed"] == 2
    row = store.get_request(no_run, with_children=False)
    assert row["status"] == "failed"
    assert "no Dagster run exists" in row["error_message"]
    assert row["error_details"]["run_id"] is None
    row = store.get_request(ended, with_children=False)
    assert row["status"] == "failed"
    assert f"its Dagster run {ended_run.run_id} had ended (FAILURE)" in row["error_message"]
    assert row["error_details"]["run_status"] == "FAILURE"
    for alive in (running, retrying, recent):
        assert store.get_status(alive) == "processing"


def test_dagster_runs_of_deleted_requests_are_deleted_on_request(
    store: Store, db_url: str, data_dir: Path, instance: DagsterInstance
) -> None:
    rid = finished(store, "completed", timedelta(days=31))
    done = create_run_for_test(
        instance, tags={TAG_REQUEST_ID: rid}, status=DagsterRunStatus.SUCCESS
    )
    other = create_run_for_test(instance, status=DagsterRunStatus.SUCCESS)
    dry = run(instance, db_url, data_dir, delete_dagster_runs=True, dry_run=True)
    assert dry["dagster_runs_deleted"] == 1 and instance.has_run(done.run_id)
    report = run(instance, db_url, data_dir, delete_dagster_runs=True)
    assert report["dagster_runs_deleted"] == 1
    assert not instance.has_run(done.run_id) and instance.has_run(other.run_id)
