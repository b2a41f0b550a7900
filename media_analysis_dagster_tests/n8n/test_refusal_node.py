"""The launch workflows' answer to a refused config, without n8n: the "Explain refusal" node's
expression and the "Respond launch refused" node, evaluated by Node.js (the JS n8n runs) on the
``launchRun`` answers dagster-webserver 1.13 gives (``test_graphql_live.py`` checks the real
ones), and the run options the launch body passes on. ``test_n8n.py`` runs the same in a real n8n.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest

from media_analysis_dagster.errors import InvalidRequestError
from media_analysis_fixtures.graphql import refusal_sentence

from ..test_docs import DOCS, check_variables, load, n8n_eval, node_named

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")


def _path(*names: str, index: int | None = None) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {"__typename": "EvaluationStackPathEntry", "fieldName": n}
        for n in ("ops", "register_request", "config", *names)
    ]
    if index is not None:
        entries.append({"__typename": "EvaluationStackListItemEntry", "listIndex": index})
    return {"entries": entries}


def _invalid(**error: Any) -> dict[str, Any]:
    return {"__typename": "RunConfigValidationInvalid", "errors": [error]}


REFUSALS: list[tuple[dict[str, Any], str]] = [
    # launchRun results as dagster-webserver 1.13 sends them (test_graphql_live.py checks the
    # real ones), and the sentence a client shows; "" = not a refused config.
    (
        {
            "__typename": "PythonError",
            "className": "InvalidRequestError",
            "message": "media_analysis_dagster.errors.InvalidRequestError: frame_count must be "
            "between 1 and 200, not 500.\n",
            "stack": [
                '  File "/srv/dagster/_grpc/server.py", line 873, in ExecutionPlanSnapshot\n'
            ],
        },
        "frame_count must be between 1 and 200, not 500.",
    ),
    (
        {
            "__typename": "PythonError",
            "className": "DagsterUserCodeUnreachableError",
            "message": "dagster._core.errors.DagsterUserCodeUnreachableError: Could not reach "
            "user code server.\n",
            "stack": [],
        },
        "",
    ),
    (
        _invalid(
            __typename="RuntimeMismatchConfigError",
            reason="RUNTIME_TYPE_MISMATCH",
            message="Value at path root:ops:register_request:config:media_type not in enum "
            "type MediaType got vdieo",
            stack=_path("media_type"),
            valueRep="'vdieo'",
        ),
        "media_type must be one of video, audio, document, auto, not 'vdieo'.",
    ),
    (
        _invalid(
            __typename="RuntimeMismatchConfigError",
            reason="RUNTIME_TYPE_MISMATCH",
            message="Invalid scalar at path root:ops:register_request:config:grid_cols. Value "
            '"True" of type "<class \'bool\'>" is not valid for expected type "Int".',
            stack=_path("grid_cols"),
            valueRep="True",
        ),
        "grid_cols must be a whole number, not true.",
    ),
    (
        _invalid(
            __typename="RuntimeMismatchConfigError",
            reason="RUNTIME_TYPE_MISMATCH",
            message="Invalid scalar at path root:ops:register_request:config:providers[0]. "
            'Value "1" of type "<class \'int\'>" is not valid for expected type "String".',
            stack=_path("providers", index=0),
            valueRep="1",
        ),
        "providers[0] must be text, not 1.",
    ),
    (
        _invalid(
            __typename="RuntimeMismatchConfigError",
            reason="RUNTIME_TYPE_MISMATCH",
            message="Value at path root:ops:register_request:config:provider_options must be "
            'dict. Expected: "{ [String]: Any }"',
            stack=_path("provider_options"),
            valueRep="[1]",
        ),
        "provider_options must be a JSON object, not [1].",
    ),
    (
        _invalid(
            __typename="FieldNotDefinedConfigError",
            reason="FIELD_NOT_DEFINED",
            message='Received unexpected config entry "frames" at path '
            'root:ops:register_request:config. Expected: "{ accurate_frames?: Bool }".',
            stack=_path(),
            fieldName="frames",
        ),
        "frames is not a request option.",
    ),
    (
        _invalid(
            __typename="FieldsNotDefinedConfigError",
            reason="FIELDS_NOT_DEFINED",
            message="Received unexpected config entries",
            stack=_path(),
            fieldNames=["x", "y"],
        ),
        "x, y are not request options.",
    ),
    ({"__typename": "LaunchRunSuccess", "run": {"runId": "r-1"}}, ""),
    ({"__typename": "PipelineNotFoundError", "message": "Could not find Pipeline"}, ""),
]


@pytest.mark.parametrize("name", ["launch_and_wait", "launch_and_callback"])
def test_a_refused_config_answers_422_with_one_sentence(name: str) -> None:
    """The workflows' "Explain refusal" node reads the same sentence as docs/graphql.md says
    (``refusal_sentence``), and "Respond launch refused" answers it as a 422 ``{error}`` with no
    class name or stack; any other non-success answers 502 with the details."""
    workflow = load(DOCS / f"n8n/{name}.json")
    [explain] = node_named(workflow, "Explain refusal")["parameters"]["assignments"]["assignments"]
    respond = node_named(workflow, "Respond launch refused")["parameters"]
    assert workflow["connections"]["Launched?"]["main"][1][0]["node"] == "Explain refusal"
    launch = node_named(workflow, "Launch run")["parameters"]
    assert launch["options"]["response"]["response"]["neverError"] is True, (
        "the webserver answers HTTP 500 for a refused config: the body must reach the workflow"
    )
    for result, sentence in REFUSALS:
        answer = {"data": {"launchRun": result}}
        assert refusal_sentence(result) == sentence, result
        refusal = n8n_eval(explain["value"], answer, {})
        assert refusal == sentence, result
        code = n8n_eval(respond["options"]["responseCode"], {**answer, "refusal": refusal}, {})
        body = json.loads(n8n_eval(respond["responseBody"], {**answer, "refusal": refusal}, {}))
        if sentence:
            assert code == "422" and body == {"error": sentence}
            assert "Error" not in sentence and "Traceback" not in sentence
        else:
            assert code == "502" and body["error"].startswith("Dagster refused the launch: ")


@pytest.mark.parametrize("name", ["launch_and_wait", "launch_and_callback"])
def test_launch_workflows_pass_request_options(name: str) -> None:
    """Run options in the body (frame_count, providers, …) reach the run config as given, so
    Dagster checks them at launch (and a wrong one comes back as a 422 sentence)."""
    body = node_named(load(DOCS / f"n8n/{name}.json"), "Launch run")["parameters"]["jsonBody"]
    webhook = {
        "body": {
            "media_url": "https://example.com/clip.mp4",
            "frame_count": 12,
            "grid_cols": 3,
            "scene_aware": True,
            "use_cache": False,
            "providers": ["openai", "internal"],
            "provider_options": {"diarize": True},
            "user_metadata": {"ticket": "A-17, B"},
            "not_an_option": 1,
        }
    }
    launch = json.loads(n8n_eval(body, webhook, {}))
    config = launch["variables"]["executionParams"]["runConfigData"]["ops"]["register_request"]
    expected = {k: v for k, v in webhook["body"].items() if k not in ("not_an_option",)}
    assert {k: config["config"][k] for k in expected} == expected
    assert "not_an_option" not in config["config"]
    check_variables(launch["query"], launch["variables"])
    webhook["body"]["frame_count"] = 500
    refused = json.loads(n8n_eval(body, webhook, {}))
    with pytest.raises(InvalidRequestError, match="frame_count must be between 1 and 200"):
        check_variables(refused["query"], refused["variables"])
