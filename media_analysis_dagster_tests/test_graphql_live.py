"""docs/graphql.md against the real code location served by a real code server.

The instance queues runs (no daemon here), so every launch stays QUEUED: the test checks what a
client sees — result types, tags, status, cancel, re-execute — without running the media job.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import instance_for_test
from dagster._core.workspace.context import WorkspaceRequestContext
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

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
