"""End to end: the three production processes on PostgreSQL, driven the ways n8n drives them.

One code server, one webserver and one daemon (``stack.py``, started as
``deploy/commands.sh`` starts them) with the root ``dagster.yaml`` copied unchanged into a
temporary ``DAGSTER_HOME``. Dagster's storage and the four tables live in two fresh databases.
The only speed setting is the application's own ``MEDIA_ANALYSIS_SENSOR_INTERVAL_S`` (and the
cancellation sensor's): everything else is the production configuration, so the times asserted
here are the times an operator gets.

The slow requests download from a local HTTP server that trickles the clip for
``SLOW_DOWNLOAD_S`` seconds, so a run is reliably in progress (in ``fetch_media``) when it is
terminated or its worker is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_analysis_fixtures import make_video, pg
from media_analysis_fixtures.graphql import JOB, LOCATION, REPOSITORY, run_worker_pid, runs
from media_analysis_fixtures.media_server import TricklingServer as MediaServer
from media_analysis_fixtures.media_server import trickling_server
from media_analysis_fixtures.processes import wait_until
from media_analysis_fixtures.stack import DagsterStack, StackSettings
from media_analysis_fixtures.tables import insert_pending, read_requests

from .test_docs import n8n_eval

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
GRAPHQL = ROOT / "docs" / "graphql"
TAG_REQUEST_ID = "media_analysis/request_id"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}

ROWS = 20
DRAIN_DEADLINE_S = 150.0
"""20 two-second clips: measured 47-73 s with the root dagster.yaml on the 2-core machine."""
RUN_DEADLINE_S = 90.0
SLOW_DOWNLOAD_S = 15.0
"""How long the trickling server takes to serve one clip (the run is in ``fetch_media``)."""
CANCEL_TO_ROW_S = SLOW_DOWNLOAD_S + 45.0
"""terminateRun → row ``cancelled``: the threaded executor lets the running step finish (up to
``SLOW_DOWNLOAD_S`` here), then ``canceled_run_sync_sensor`` runs at its default 30 s interval
on the sensor daemon's 5 s loop. Measured 26-41 s."""
KILL_TO_FAILED_S = 45.0
"""SIGKILL of the last allowed attempt's worker → row ``failed``. The code server notices its
dead child within 0.5 s and fails the run; ``failed_run_sync_sensor`` (default 30 s interval,
5 s daemon loop) then fails the row: at most about 37 s; measured 1.5-23 s in four runs. This
is the figure deploy/README.md states. Nothing in dagster.yaml is involved: run monitoring
cannot see the worker (DefaultRunLauncher has no health check), the code server that started
it can (``dagster._grpc.server``: ``_check_for_orphaned_runs``, every 0.5 s)."""


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def databases(pg_admin_url: str) -> Iterator[tuple[str, str]]:
    """Two fresh databases: Dagster's storage, and the four tables (dropped afterwards, even
    if the processes still hold connections: ``DROP DATABASE … WITH (FORCE)``)."""
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_it_dagster")
    try:
        tables_db = pg.create_database(pg_admin_url, prefix="ma_it_tables")
    except BaseException:
        pg.drop_database(pg_admin_url, dagster_db)
        raise
    try:
        yield pg.with_database(pg_admin_url, dagster_db), pg.with_database(pg_admin_url, tables_db)
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short generated clip, reused by every request."""
    return make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", duration=2.0, size=(160, 120))


@pytest.fixture(scope="module")
def media_server(clip: Path) -> Iterator[MediaServer]:
    """``/media/<name>`` at once, ``/slow/<name>`` trickled over ``SLOW_DOWNLOAD_S`` seconds."""
    with trickling_server(clip.parent, SLOW_DOWNLOAD_S) as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    databases: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    dagster_url, tables_url = databases
    settings = StackSettings(
        dagster_postgres_url=dagster_url,
        database_url=tables_url,
        base_dir=tmp_path_factory.mktemp("stack"),
        env={
            "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
            # These tests are about launching and ending runs; speech-to-text (a model load in
            # every run worker) is tested on its own and would only slow the drain down.
            "MEDIA_ANALYSIS_WHISPER_MODEL": "off",
        },
    )
    with DagsterStack(settings) as running:
        yield running


@pytest.fixture(scope="module")
def inbox_clip(stack: DagsterStack, clip: Path) -> Path:
    """The clip inside ``MEDIA_ANALYSIS_MEDIA_ROOTS``, for ``media_path`` requests."""
    target = stack.inbox / clip.name
    shutil.copyfile(clip, target)
    return target


# -- helpers ------------------------------------------------------------------------------------
def wait_for_rows(
    stack: DagsterStack,
    ids: list[str],
    statuses: set[str],
    timeout: float,
    what: str,
) -> dict[str, dict[str, Any]]:
    """Poll the table until every row is in one of ``statuses``; a row that ends in another
    terminal status fails at once, with its error."""
    ends = {"completed", "failed", "cancelled"}

    def check() -> dict[str, dict[str, Any]] | None:
        stack.check_alive()
        rows = read_requests(stack.settings.database_url, ids)
        wrong = {i: r for i, r in rows.items() if r["status"] in ends - statuses}
        assert not wrong, {i: (r["status"], r["error_message"]) for i, r in wrong.items()}
        return rows if all(rows.get(i, {}).get("status") in statuses for i in ids) else None

    try:
        return wait_until(check, timeout=timeout, what=what, interval=0.5)
    except TimeoutError:
        rows = read_requests(stack.settings.database_url, ids)
        counts: dict[str, int] = {}
        for row in rows.values():
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        raise AssertionError(f"{what}: rows by status {counts}\n{stack.describe()}") from None


def gql_text(name: str) -> str:
    return (GRAPHQL / name).read_text()


def n8n_body(
    node_name: str, json_: dict[str, Any], nodes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON body an HTTP node of ``docs/n8n/launch_and_wait.json`` sends, evaluated by
    Node.js as n8n would. Without Node.js, the same body built here from the query files, so
    the launch over plain HTTP is still tested (the body shape is then this copy's, and
    ``test_docs.py`` checks the JSON's expressions where Node.js is present)."""
    workflow = json.loads((ROOT / "docs" / "n8n" / "launch_and_wait.json").read_text())
    [node] = [n for n in workflow["nodes"] if n["name"] == node_name]
    if shutil.which("node"):
        return json.loads(n8n_eval(node["parameters"]["jsonBody"], json_, nodes or {}))
    if node_name == "Poll run status":
        run_id = (nodes or {})["Launch run"]["data"]["launchRun"]["run"]["runId"]
        return {"query": gql_text("run_status.graphql"), "variables": {"runId": run_id}}
    config = {
        "media_url": json_["body"]["media_url"],
        "prompt": json_["body"]["prompt"],
        "media_type": json_["body"].get("media_type") or "auto",
        "created_by": "n8n",
        "source_endpoint": "graphql",
    }
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": JOB}
    params = {
        "selector": selector,
        "runConfigData": {"ops": {"register_request": {"config": config}}},
        "executionMetadata": {"tags": [{"key": "media_analysis/source", "value": "graphql"}]},
    }
    return {"query": gql_text("launch_run.graphql"), "variables": {"executionParams": params}}


def poll_run_http(stack: DagsterStack, body: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST a ``runOrError`` body (``docs/graphql/run_status.graphql``) until the run ends."""

    def check() -> dict[str, Any] | None:
        stack.check_alive()
        run = stack.post_graphql(body)["data"]["runOrError"]
        return run if run.get("status") in TERMINAL else None

    what = f"run {body['variables']['runId']} to end"
    return wait_until(check, timeout=timeout, what=what, interval=1.0)


def run_of_request(
    stack: DagsterStack, request_id: str, *, parent: str | None = None, timeout: float
) -> dict[str, Any]:
    """The (first) run of a request, or its retry (the run whose parent is ``parent``), once it
    is STARTED and its worker's pid is known."""

    def check() -> dict[str, Any] | None:
        stack.check_alive()
        for run in runs(stack, {TAG_REQUEST_ID: request_id}):
            if run["tags"].get("dagster/parent_run_id") != parent:
                continue
            if run["status"] in TERMINAL:
                raise AssertionError(f"run {run['runId']} ended before the test got to it: {run}")
            if run["status"] == "STARTED":
                run["pid"] = run_worker_pid(stack, run["runId"])
                return run if run["pid"] else None
        return None

    who = f"the {'retry' if parent else 'run'} of request {request_id} to start"
    return wait_until(check, timeout=timeout, what=who, interval=0.5)


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_pending_rows_drain(stack: DagsterStack, inbox_clip: Path) -> None:
    """20 rows inserted as n8n inserts them: the sensor launches each once, all complete."""
    started = time.monotonic()
    inserted = insert_pending(stack.settings.database_url, ROWS, media_path=str(inbox_clip))
    ids = [rid for rid, _ in inserted]
    rows = wait_for_rows(stack, ids, {"completed"}, DRAIN_DEADLINE_S, f"{ROWS} rows to complete")
    elapsed = time.monotonic() - started
    assert all(r["result_count"] > 0 for r in rows.values()), rows
    launched = [r for r in runs(stack) if r["tags"].get(TAG_REQUEST_ID) in set(ids)]
    assert len(launched) == ROWS, "each pending row is launched exactly once"
    assert {r["tags"]["media_analysis/source"] for r in launched} == {"sensor"}
    print(f"\n{ROWS} pending rows completed in {elapsed:.1f} s")


@pytest.mark.timeout(200)
def test_graphql_launches_complete(
    stack: DagsterStack, media_server: MediaServer, inbox_clip: Path
) -> None:
    """One launch with the exact body of n8n's "Launch run" node over plain HTTP, one with
    ``DagsterGraphQLClient``; both runs succeed and complete their rows."""
    from dagster import DagsterRunStatus, RunConfig
    from dagster_graphql import DagsterGraphQLClient

    from media_analysis_dagster.pipeline.request_config import RequestConfig

    webhook = {"body": {"media_url": media_server.url("media", "clip.mp4"), "prompt": "What?"}}
    body = n8n_body("Launch run", webhook)
    assert body["query"] == gql_text("launch_run.graphql")
    reply = stack.post_graphql(body)
    launched = reply["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    http_run_id = launched["run"]["runId"]

    client = DagsterGraphQLClient("127.0.0.1", port_number=stack.web_port, timeout=30)
    client_run_id = client.submit_job_execution(
        JOB,
        repository_location_name=LOCATION,
        repository_name=REPOSITORY,
        run_config=RunConfig(ops={"register_request": RequestConfig(media_path=str(inbox_clip))}),
        tags={"media_analysis/source": "graphql"},
    )

    poll = n8n_body("Poll run status", {}, {"Launch run": reply})
    assert poll["variables"] == {"runId": http_run_id}
    http_run = poll_run_http(stack, poll, RUN_DEADLINE_S)
    assert http_run["status"] == "SUCCESS", stack.describe()

    def client_done() -> DagsterRunStatus | None:
        status = client.get_run_status(client_run_id)
        return status if status.value in TERMINAL else None

    status = wait_until(client_done, timeout=RUN_DEADLINE_S, what="the client's run", interval=1)
    assert status == DagsterRunStatus.SUCCESS, stack.describe()

    status_query = {"query": gql_text("run_status.graphql"), "variables": {"runId": client_run_id}}
    client_run = poll_run_http(stack, status_query, 10)
    ids = [
        {t["key"]: t["value"] for t in run["tags"]}[TAG_REQUEST_ID]
        for run in (http_run, client_run)
    ]
    rows = wait_for_rows(stack, ids, {"completed"}, 10, "the GraphQL requests' rows")
    assert all(r["result_count"] > 0 for r in rows.values())


@pytest.mark.timeout(240)
def test_terminated_and_killed_runs_end_their_rows(
    stack: DagsterStack, media_server: MediaServer
) -> None:
    """A run terminated over GraphQL leaves its row ``cancelled``; a run whose worker is
    SIGKILLed is retried once (``run_retries`` in dagster.yaml), and when the retry's worker
    is killed too the row ends ``failed`` within ``KILL_TO_FAILED_S``."""
    url = media_server.url("slow", "clip.mp4")
    (to_cancel, _), (to_kill, _) = insert_pending(stack.settings.database_url, 2, media_url=url)
    cancel_run = run_of_request(stack, to_cancel, timeout=RUN_DEADLINE_S)
    kill_run = run_of_request(stack, to_kill, timeout=RUN_DEADLINE_S)

    stopped = stack.graphql(gql_text("terminate_run.graphql"), {"runId": cancel_run["runId"]})
    assert stopped["terminateRun"]["__typename"] == "TerminateRunSuccess", stopped
    terminated_at = time.monotonic()

    os.kill(kill_run["pid"], signal.SIGKILL)
    retry = run_of_request(stack, to_kill, parent=kill_run["runId"], timeout=RUN_DEADLINE_S)
    assert read_requests(stack.settings.database_url, [to_kill])[to_kill]["status"] == (
        "processing"
    ), "the retry carries on with the row"
    os.kill(retry["pid"], signal.SIGKILL)
    killed_at = time.monotonic()

    failed = wait_for_rows(stack, [to_kill], {"failed"}, KILL_TO_FAILED_S, "the killed row")
    kill_to_failed = time.monotonic() - killed_at
    row = failed[to_kill]
    assert retry["runId"] in row["error_message"], row["error_message"]
    assert "SIGKILL" in row["error_message"], row["error_message"]
    assert row["error_details"]["run_id"] == retry["runId"]
    assert row["error_details"]["error_type"] == "RunWorkerCrash"

    cancelled = wait_for_rows(
        stack, [to_cancel], {"cancelled"}, CANCEL_TO_ROW_S, "the terminated row"
    )
    cancel_to_row = time.monotonic() - terminated_at
    assert cancel_run["runId"] in cancelled[to_cancel]["error_message"]
    [final] = [r for r in runs(stack, {TAG_REQUEST_ID: to_cancel})]
    assert final["status"] == "CANCELED"
    print(
        f"\nkill -> failed {kill_to_failed:.1f} s ({row['error_message']}); "
        f"terminate -> cancelled {cancel_to_row:.1f} s"
    )
