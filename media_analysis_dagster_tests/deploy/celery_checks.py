"""What the Celery tests ask of a running ``CeleryStack``: rows, runs, objects, pool limits and
a retention launch, each through the interface an operator or n8n would use (the tables, the
webserver's GraphQL, the ``dagster`` CLI)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from media_analysis_dagster.db.engine import connect_engine
from media_analysis_dagster.db.store import Store
from media_analysis_fixtures.celery import CeleryStack, have_redis_server
from media_analysis_fixtures.graphql import LOCATION, REPOSITORY, runs
from media_analysis_fixtures.processes import BIN, ROOT, wait_until
from media_analysis_fixtures.tables import read_requests

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_redis_server() -> None:
    """Skip without a ``redis-server`` binary (the Debian package ``redis-server``); under CI its
    absence is a failure, as PostgreSQL's is."""
    if not have_redis_server():
        message = "no redis-server binary: install the redis-server package"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


TAG_REQUEST_ID = "media_analysis/request_id"
TASK_TAG = "dagster-celery/task_id"
ENDS = {"completed", "failed", "cancelled"}
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def ended_rows(
    celery: CeleryStack, ids: list[str], timeout: float, what: str
) -> dict[str, dict[str, Any]]:
    """The rows once all have ended; on timeout, the statuses and the processes' logs."""
    db = celery.settings.database_url

    def check() -> dict[str, dict[str, Any]] | None:
        celery.check_alive()
        rows = read_requests(db, ids)
        return rows if all(rows.get(i, {}).get("status") in ENDS for i in ids) else None

    try:
        return wait_until(check, timeout=timeout, what=what, interval=1.0)
    except TimeoutError:
        rows = read_requests(db, ids)
        states = {i[:8]: r["status"] for i, r in rows.items()}
        raise AssertionError(f"{what}: {states}\n{celery.describe()}") from None


def runs_by_request(celery: CeleryStack, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every run of each request, newest first (GraphQL)."""
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for run in runs(celery.stack):
        rid = run["tags"].get(TAG_REQUEST_ID)
        if rid in out:
            out[rid].append(run)
    return out


def in_flight(celery: CeleryStack) -> list[str]:
    """Runs of media_analysis_job not ended yet (queued, starting, started, canceling)."""
    return [r["runId"] for r in runs(celery.stack) if r["status"] not in TERMINAL]


def objects_of(database_url: str, request_id: str) -> list[dict[str, Any]]:
    """The request's ``media_files`` rows."""
    engine = connect_engine(database_url)
    try:
        row = Store(engine).get_request(request_id)
    finally:
        engine.dispose()
    return list(row["files"]) if row else []


def set_pool_limit(celery: CeleryStack, pool: str, limit: int) -> None:
    """``dagster instance concurrency set`` on the control host (the limit lives in PostgreSQL,
    so every worker sees it)."""
    args = [str(BIN / "dagster"), "instance", "concurrency", "set", pool, str(limit)]
    done = subprocess.run(
        args, env=celery.stack.env, cwd=str(ROOT), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def age_request(database_url: str, request_id: str, hours: int) -> None:
    """Move a request's times ``hours`` into the past (so retention finds it expired or stuck)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    back = "{0} = {0} - make_interval(hours => :h)"
    columns = ", ".join(back.format(c) for c in ("created_at", "started_at", "completed_at"))
    shift = sa.text(f"UPDATE media_analysis_requests SET {columns} WHERE request_id = :i")
    try:
        with engine.begin() as conn:
            conn.execute(shift, {"h": hours, "i": request_id})
    finally:
        engine.dispose()


def insert_processing(database_url: str) -> str:
    """A row left ``processing`` with no run at all (its launcher crashed before launching)."""
    engine = connect_engine(database_url)
    try:
        row = Store(engine).create_request(
            media_url="https://example.com/x.mp4", status="processing"
        )
    finally:
        engine.dispose()
    return str(row["request_id"])


LAUNCH = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


def launch_retention(celery: CeleryStack) -> str:
    """``launchRun`` of ``retention_cleanup_job`` with its defaults (what the schedule runs)."""
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": "retention_cleanup_job",
        },
        "runConfigData": {},
    }
    result = celery.stack.graphql(LAUNCH, {"executionParams": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return str(result["run"]["runId"])


RUN = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { status tags { key value } } } }
"""


def run_of(celery: CeleryStack, run_id: str) -> dict[str, Any]:
    """A run's status and tags (any job)."""
    data = celery.stack.graphql(RUN, {"runId": run_id})["runOrError"]
    return {"status": data.get("status"), "tags": {t["key"]: t["value"] for t in data["tags"]}}


def run_status(celery: CeleryStack, run_id: str) -> str | None:
    """The run's status; a run that failed or was cancelled ends the wait at once."""
    status = run_of(celery, run_id)["status"]
    assert status not in {"FAILURE", "CANCELED"}, f"run {run_id} ended {status}"
    return str(status) if status else None
