"""docs/graphql.md against the real code location served by a real code server.

The instance queues runs (no daemon here), so every launch stays QUEUED: the test checks what a
client sees — result types, tags, status, cancel, re-execute — without running the media job.
The refused launches are checked over HTTP against a real ``dagster-webserver`` and code server
on PostgreSQL (``media_analysis_fixtures.stack``, without the daemon): each bad config answers a
non-success result whose sentence is the validator's, and creates no run.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import instance_for_test
from dagster._core.workspace.context import WorkspaceRequestContext
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from media_analysis_fixtures import pg
from media_analysis_fixtures.graphql import execution_params, refusal_sentence, runs
from media_analysis_fixtures.stack import DagsterStack, StackSettings

from .test_docs import n8n_eval

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
GRAPHQL = ROOT / "docs" / "graphql"


def text(name: str) -> str:
    return (GRAPHQL / name).read_text()


def variables(name: str) -> dict[str, Any]:
    return json.loads(text(name))


@pytest.fixture(scope="module")
def contexts() -> Iterator[tuple[WorkspaceRequestContext, WorkspaceRequestContext]]:
    """A writable and a ``--read-only`` request context over the project's workspace.yaml."""
    workspace = str(ROOT / "workspace.yaml")
    with (
        instance_for_test() as instance,
        define_out_of_process_context(workspace, None, instance) as writable,
        define_out_of_process_context(workspace, None, instance, read_only=True) as read_only,
    ):
        yield writable, read_only


def run(context: WorkspaceRequestContext, query: str, values: dict[str, Any]) -> dict[str, Any]:
    result = execute_dagster_graphql(context, query, values)
    assert not result.errors, result.errors
    return result.data


def test_launch_poll_cancel_reexecute(contexts: tuple[Any, Any]) -> None:
    context, _ = contexts
    launched = run(
        context, text("launch_run.graphql"), variables("launch_run.new_request.variables.json")
    )
    assert launched["launchRun"]["__typename"] == "LaunchRunSuccess"
    run_id = launched["launchRun"]["run"]["runId"]
    status = run(context, text("run_status.graphql"), {"runId": run_id})["runOrError"]
    assert status["__typename"] == "Run" and status["status"] == "QUEUED"
    assert {"key": "media_analysis/source", "value": "graphql"} in status["tags"]

    pending = variables("launch_run.pending_row.variables.json")
    claimed = run(context, text("launch_run.graphql"), pending)["launchRun"]
    tags = {t["key"]: t["value"] for t in claimed["run"]["tags"]}
    assert tags["media_analysis/request_id"] == "3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10"

    stopped = run(context, text("terminate_run.graphql"), {"runId": run_id})["terminateRun"]
    assert stopped["__typename"] == "TerminateRunSuccess"
    status = run(context, text("run_status.graphql"), {"runId": run_id})["runOrError"]
    assert status["status"] == "CANCELED"

    params = {"reexecutionParams": {"parentRunId": run_id, "strategy": "ALL_STEPS"}}
    again = run(context, text("reexecute_run.graphql"), params)["launchRunReexecution"]
    assert again["__typename"] == "LaunchRunSuccess"
    child = run(context, text("run_status.graphql"), {"runId": again["run"]["runId"]})
    assert {"key": "media_analysis/source", "value": "graphql"} in child["runOrError"]["tags"]


def test_errors_are_result_types(contexts: tuple[Any, Any]) -> None:
    context, read_only = contexts
    bad_config = variables("launch_run.new_request.variables.json")
    bad_config["executionParams"]["runConfigData"]["ops"]["register_request"]["config"]["x"] = 1
    result = run(context, text("launch_run.graphql"), bad_config)["launchRun"]
    assert result["__typename"] == "RunConfigValidationInvalid" and result["errors"]

    wrong_job = variables("launch_run.new_request.variables.json")
    wrong_job["executionParams"]["selector"]["jobName"] = "no_such_job"
    result = run(context, text("launch_run.graphql"), wrong_job)["launchRun"]
    assert result["__typename"] == "PipelineNotFoundError"

    missing = run(context, text("run_status.graphql"), {"runId": "no-such-run"})["runOrError"]
    assert missing["__typename"] == "RunNotFoundError"

    refused = run(
        read_only, text("launch_run.graphql"), variables("launch_run.new_request.variables.json")
    )
    assert refused["launchRun"]["__typename"] == "UnauthorizedError"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_n8n_launch_body_launches(contexts: tuple[Any, Any]) -> None:
    context, _ = contexts
    workflow = json.loads((ROOT / "docs/n8n/launch_and_wait.json").read_text())
    [node] = [n for n in workflow["nodes"] if n["name"] == "Launch run"]
    webhook = {"body": {"media_url": "https://example.com/clip.mp4", "prompt": "What happens?"}}
    body = json.loads(n8n_eval(node["parameters"]["jsonBody"], webhook, {}))
    result = run(context, body["query"], body["variables"])["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess"


# -- refused launches, against a real dagster-webserver ---------------------------------------
URL = "https://example.com/media/clip.mp4"
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    # (config, the result type, the sentence a client shows)
    (
        {"media_url": URL, "media_type": "vdieo"},
        "RunConfigValidationInvalid",
        "media_type must be one of video, audio, document, auto, not 'vdieo'.",
    ),
    (
        {"media_url": URL, "frame_count": 500},
        "PythonError",
        "frame_count must be between 1 and 200, not 500.",
    ),
    (
        {"media_url": URL, "grid_cols": 0},
        "PythonError",
        "grid_cols must be between 1 and 10, not 0.",
    ),
    (
        {"media_url": URL, "media_path": "/srv/media/inbox/clip.mp4"},
        "PythonError",
        "Give exactly one of media_url or media_path, not both.",
    ),
    (
        {"prompt": "What happens?"},
        "PythonError",
        "Give exactly one of media_url or media_path; neither was given.",
    ),
    ({"request_id": "row-7"}, "PythonError", "request_id must be a UUID, not 'row-7'."),
    (
        {"media_url": URL, "callback_url": "ftp://hooks.example.com/done"},
        "PythonError",
        "callback_url must be an http(s) URL, not 'ftp://hooks.example.com/done'.",
    ),
    (
        {"media_url": URL, "providers": ["openia"]},
        "PythonError",
        "providers must name known providers (anthropic, deepgram, google, groq, internal, "
        "minimax, openai), not 'openia'.",
    ),
    (
        {"media_url": URL, "frame_count": "many"},
        "RunConfigValidationInvalid",
        "frame_count must be a whole number, not 'many'.",
    ),
    (
        {"media_url": URL, "providers": ["openai", 5]},
        "RunConfigValidationInvalid",
        "providers[1] must be text, not 5.",
    ),
    (
        {"media_url": URL, "frames": 12},
        "RunConfigValidationInvalid",
        "frames is not a request option.",
    ),
]


@pytest.fixture(scope="module")
def webserver(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    """The production webserver and code server (no daemon, so launches stay QUEUED)."""
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_gql_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_gql_tables")
    try:
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
            database_url=pg.with_database(pg_admin_url, tables_db),
            base_dir=tmp_path_factory.mktemp("gql_stack"),
            daemon=False,
        )
        with DagsterStack(settings) as running:
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


def launch(stack: DagsterStack, config: dict[str, Any]) -> dict[str, Any]:
    params = execution_params(config, {"media_analysis/source": "graphql"})
    answer = stack.graphql(text("launch_run.graphql"), {"executionParams": params}, timeout=60)
    return answer["launchRun"]  # type: ignore[no-any-return]


def http_status(stack: DagsterStack, config: dict[str, Any]) -> int:
    params = execution_params(config, {"media_analysis/source": "graphql"})
    body = {"query": text("launch_run.graphql"), "variables": {"executionParams": params}}
    request = urllib.request.Request(
        stack.graphql_url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        assert json.loads(exc.read())["data"]["launchRun"]["__typename"] == "PythonError"
        return exc.code


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_a_refused_launch_answers_the_sentence_and_creates_no_run(webserver: DagsterStack) -> None:
    with_node = shutil.which("node") is not None
    workflow = json.loads((ROOT / "docs/n8n/launch_and_wait.json").read_text())
    [node] = [n for n in workflow["nodes"] if n["name"] == "Explain refusal"]
    [explain] = node["parameters"]["assignments"]["assignments"]
    assert runs(webserver) == []
    for config, kind, sentence in REFUSED:
        result = launch(webserver, config)
        assert result["__typename"] == kind, (config, result)
        assert refusal_sentence(result) == sentence, (config, result)
        if kind == "PythonError":  # the validator's error, as itself: one line, then the stack
            assert result["className"] == "InvalidRequestError", result
            assert result["message"].strip().endswith(sentence), result["message"]
            assert "\n" not in result["message"].strip() and "Stack" not in result["message"]
        if with_node:  # the n8n workflows' node reads the same sentence out of the same answer
            assert n8n_eval(explain["value"], {"data": {"launchRun": result}}, {}) == sentence
        assert runs(webserver) == [], f"{config} created a run"

    # HTTP status: Dagster's webserver answers 500 whenever a field is a PythonError (the body is
    # still the whole answer), 200 for the schema's own refusal. Clients must read the body.
    statuses: list[tuple[dict[str, Any], int]] = [
        ({"media_url": URL, "frame_count": 500}, 500),
        ({"x": 1}, 200),
    ]
    for config, status in statuses:
        assert http_status(webserver, config) == status, config

    result = launch(webserver, {"media_url": URL, "frame_count": 200, "media_type": "video"})
    assert result["__typename"] == "LaunchRunSuccess", result
    assert [r["runId"] for r in runs(webserver)] == [result["run"]["runId"]]
    assert refusal_sentence(result) == ""


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_the_python_client_raises_the_refusal(webserver: DagsterStack) -> None:
    """``DagsterGraphQLClient`` (docs/graphql.md §6) raises ``DagsterGraphQLClientError`` with the
    result type and the message; the sentence follows the class name, as over plain HTTP."""
    from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

    client = DagsterGraphQLClient("127.0.0.1", port_number=webserver.web_port, timeout=60)
    before = runs(webserver)
    with pytest.raises(DagsterGraphQLClientError) as refused:
        client.submit_job_execution(
            "media_analysis_job",
            repository_location_name="media_analysis_dagster",
            repository_name="__repository__",
            run_config={
                "ops": {"register_request": {"config": {"media_url": URL, "grid_rows": 0}}}
            },
            tags={"media_analysis/source": "graphql"},
        )
    kind, message = refused.value.args[:2]
    assert kind == "PythonError"
    assert message.strip() == (
        "media_analysis_dagster.errors.InvalidRequestError: grid_rows must be between 1 and 10, "
        "not 0."
    )
    assert runs(webserver) == before
