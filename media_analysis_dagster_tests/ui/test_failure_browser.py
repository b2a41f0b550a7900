"""A failed request's step in the Dagster UI, in real Chromium: one sentence, no stack trace.

The three production processes run on PostgreSQL (``stack.py``) with
``MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS=127.0.0.1`` (so a real server on 127.0.0.1 can answer).
Three requests are launched over GraphQL, as n8n does, each failing in ``fetch_media`` for a
different reason an operator has to act on:

- a URL the server answers 404 for (its query string carries a token that must not show);
- a URL of another loopback address, refused by the allow list before any connection (the
  sentence names the setting that would allow it);
- a ``media_path`` outside the media roots (the sentence names the roots).

For each, the run page filtered to the step shows the request's ``error_message`` as the step's
failure, with its structured details, and nothing of Python: no class name, no "Stack Trace",
no chained exception. GraphQL confirms the event carries no stack at all, and the asset catalog
shows ``media_analysis_requests`` last written ``failed`` for the request. Screenshots land in
the pytest tmp dir and, when ``MEDIA_ANALYSIS_TEST_ARTIFACTS`` is set, there too.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from media_analysis_fixtures import pg
from media_analysis_fixtures.graphql import launch_run, runs
from media_analysis_fixtures.media_server import MediaServer, media_server
from media_analysis_fixtures.stack import DagsterStack, StackSettings
from media_analysis_fixtures.tables import read_requests

from .browser import DagsterUI, Screenshots, chromium, chromium_path

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_DEADLINE_S = 120.0
STEP = "fetch_media"
REQUEST_TAG = "media_analysis/request_id"
PYTHON_WORDS = re.compile(
    r"Stack Trace|Traceback|The above exception|dagster\._core|media_analysis_dagster\.|"
    r"\b\w*(Error|Exception|Failure):|File \""
)
"""What a Python error looks like on the page: none of it may show near the failure."""

STEP_FAILURE_EVENT = """
query ($runId: ID!) {
  logsForRun(runId: $runId, limit: 1000) {
    ... on EventConnection {
      events {
        __typename
        ... on ExecutionStepFailureEvent {
          stepKey
          error { message stack className errorChain { error { message } } }
        }
      }
    }
  }
}
"""
LATEST_REQUEST_WRITES = """
{
  assetOrError(assetKey: {path: ["media_analysis_requests"]}) {
    ... on Asset {
      assetMaterializations(limit: 20) {
        runId
        metadataEntries {
          label
          ... on TextMetadataEntry { text }
          ... on PipelineRunMetadataEntry { runId }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Case:
    name: str
    config: dict[str, str]
    words: tuple[str, ...]
    """What the sentence must name (host and path, the setting, the roots)."""
    absent: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = chromium_path()
    if path is None:
        message = "no system Chromium (apt-get install chromium; .ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def stack(
    browser_path: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_failui_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_failui_tables")
    try:
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
            database_url=pg.with_database(pg_admin_url, tables_db),
            base_dir=tmp_path_factory.mktemp("failure_stack"),
            env={"MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "127.0.0.1"},
        )
        with DagsterStack(settings) as running:
            assert running.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaServer]:
    with media_server(tmp_path_factory.mktemp("served")) as running:  # serves nothing: 404s
        yield running


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    folders = [tmp_path_factory.mktemp("failure_screenshots")]
    artefacts = os.environ.get("MEDIA_ANALYSIS_TEST_ARTIFACTS")
    if artefacts:
        folders.append(Path(artefacts) / f"failure_screenshots-{time.strftime('%Y%m%d-%H%M%S')}")
    return Screenshots(folders)


@pytest.fixture(scope="module")
def ui(stack: DagsterStack, shots: Screenshots, browser_path: str) -> Iterator[DagsterUI]:
    with (
        tempfile.TemporaryDirectory(prefix="ma-chromium-") as profile,
        chromium(Path(profile), browser_path) as context,
    ):
        yield DagsterUI(context.new_page(), f"http://127.0.0.1:{stack.web_port}", shots)


def cases(stack: DagsterStack, server: MediaServer) -> list[Case]:
    port = server.url.rsplit(":", 1)[1]
    outside = stack.settings.base_dir / "elsewhere" / "talk.mp4"
    return [
        Case(
            "http-404",
            {"media_url": f"{server.url}/clips/missing.mp4?token=s3cr3t", "media_type": "video"},
            ("127.0.0.1", "404", "/clips/missing.mp4"),
            absent=("s3cr3t", "token"),
        ),
        Case(
            "address-refused",
            {"media_url": f"http://127.0.0.2:{port}/clips/a.mp4", "media_type": "video"},
            ("127.0.0.2/clips/a.mp4", "loopback", "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"),
        ),
        Case(
            "outside-roots",
            {"media_path": str(outside), "media_type": "video"},
            ("talk.mp4", "outside the media roots", str(stack.inbox), "MEDIA_ANALYSIS_MEDIA_ROOTS"),
        ),
    ]


def request_of(stack: DagsterStack, run_id: str) -> dict[str, object]:
    [run] = [r for r in runs(stack) if r["runId"] == run_id]
    request_id = run["tags"][REQUEST_TAG]
    return read_requests(stack.settings.database_url, [request_id])[request_id]


def step_failure(stack: DagsterStack, run_id: str) -> dict[str, object]:
    events = stack.graphql(STEP_FAILURE_EVENT, {"runId": run_id})["logsForRun"]["events"]
    [failure] = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    return failure


def latest_request_write(stack: DagsterStack, request_id: str) -> dict[str, str]:
    asset = stack.graphql(LATEST_REQUEST_WRITES)["assetOrError"]
    for event in asset["assetMaterializations"]:  # newest first
        entries = {e["label"]: e.get("text") or e.get("runId") for e in event["metadataEntries"]}
        if entries.get("request_id") == request_id:
            return {k: str(v) for k, v in entries.items()}
    raise AssertionError(f"no media_analysis_requests materialization for {request_id}")


def check_case(stack: DagsterStack, ui: DagsterUI, case: Case, run_id: str) -> str:
    status = ui.wait_for_run_end(run_id, RUN_DEADLINE_S, stack.describe())
    if status != "Failure":
        raise ui.fail(f"the {case.name} run ended {status}, not Failure", stack.describe())
    row = request_of(stack, run_id)
    reason = str(row["error_message"])
    print(f"{case.name}: {reason!r}")
    assert row["status"] == "failed" and "\n" not in reason and not PYTHON_WORDS.search(reason)
    for word in case.words:
        assert word in reason, (word, reason)
    for word in case.absent:
        assert word not in reason, (word, reason)

    # What the UI is given: the sentence alone, no stack, no chained exception.
    failure = step_failure(stack, run_id)
    error = failure["error"]
    assert failure["stepKey"] == STEP and error["message"] == reason, failure
    assert error["stack"] == [] and error["errorChain"] == [], failure

    # What the UI draws: the step's failure event with the sentence and its details, and not
    # one word of Python anywhere on the step's page.
    ui.open_run(run_id, f"step:{STEP}")
    ui.wait_visible(ui.page.get_by_text("STEP_FAILURE").first, f"{STEP}'s failure", 30)
    ui.wait_on_screen(ui.page.get_by_text(reason, exact=True), f"the sentence {reason!r}", 15)
    ui.wait_visible(ui.metadata_entry("error_type").first, "the failure's error_type entry", 5)
    ui.page.wait_for_timeout(500)  # let the rest of the log rows settle
    ui.shots.take(ui.page, f"{case.name}-failed-step")
    shown = ui.page.locator("body").inner_text()
    found = PYTHON_WORDS.search(shown)
    if found:
        raise ui.fail(f"the {case.name} step page shows {found.group(0)!r}", shown[-2000:])
    if ui.page.get_by_role("button", name="View full message").count():
        raise ui.fail(f"the {case.name} failure is cut and needs 'View full message'")

    write = latest_request_write(stack, str(row["request_id"]))
    assert write["status"] == "failed" and write["run"] == run_id, write
    return reason


@pytest.mark.timeout(600)
def test_a_failed_step_shows_one_sentence_and_no_stack_trace(
    stack: DagsterStack, ui: DagsterUI, server: MediaServer
) -> None:
    launched = [
        (case, launch_run(stack, case.config, {"media_analysis/source": "test"}))
        for case in cases(stack, server)
    ]
    for case, run_id in launched:
        check_case(stack, ui, case, run_id)
    assert server.hits == ["/clips/missing.mp4?token=s3cr3t"], "127.0.0.2 was never contacted"
