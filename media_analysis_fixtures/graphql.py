"""Dagster's GraphQL API over plain HTTP, as n8n and operators use it (no Dagster client).

The integration tests, the UI test and the benchmarks ask the webserver what happened (runs and
their tags, a run's event messages) and launch runs the way n8n's HTTP nodes do, with the
query files of ``docs/graphql/``; the code lives here once. Proxies of the environment are
ignored: the webserver is on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .processes import descendants, pid_alive

if TYPE_CHECKING:
    from .stack import DagsterStack

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "media_analysis_dagster"
REPOSITORY = "__repository__"
JOB = "media_analysis_job"

# Talk to 127.0.0.1 directly even when the shell sets http_proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs {
      results { runId status creationTime startTime endTime tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

LOGS_QUERY = """
query RunLogs($runId: ID!, $afterCursor: String) {
  logsForRun(runId: $runId, afterCursor: $afterCursor) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events { __typename ... on MessageEvent { message timestamp } }
    }
  }
}
"""


class Queryable(Protocol):
    """Anything that answers a GraphQL query with its ``data`` (a client, a running stack)."""

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]: ...


class GraphQLClient:
    """POSTs JSON to one webserver's ``/graphql``, as any HTTP client (n8n's HTTP node) would."""

    def __init__(self, url: str) -> None:
        self.url = url

    def post(self, body: Mapping[str, Any], timeout: float = 30) -> dict[str, Any]:
        """The whole JSON reply to ``body`` (``data`` and ``errors``).

        The webserver answers HTTP 500 whenever a field resolved to a ``PythonError`` (a launch
        refused by the validator among them) but still sends the whole answer: a JSON body
        with ``data`` is the answer, whatever the status; anything else raises ``HTTPError``.
        """
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _DIRECT.open(request, timeout=timeout) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = None
            if isinstance(answer, dict) and "data" in answer:
                return answer
            body_again = io.BytesIO(raw)  # the caller may read it, as before
            raise urllib.error.HTTPError(exc.url, exc.code, exc.msg, exc.hdrs, body_again) from None

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """The ``data`` of a query; GraphQL-level errors raise."""
        try:
            reply = self.post({"query": query, "variables": variables or {}}, timeout)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"GraphQL HTTP {exc.code}: {exc.read()[:500]!r}") from exc
        if reply.get("errors"):
            raise RuntimeError(f"GraphQL errors: {reply['errors']}")
        return reply["data"]  # type: ignore[no-any-return]


def runs(api: Queryable, tags: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Runs of ``media_analysis_job`` (newest first), optionally only those with ``tags``;
    each run's ``tags`` as a dict."""
    flt: dict[str, Any] = {"pipelineName": JOB}
    if tags:
        flt["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    data = api.graphql(RUNS_QUERY, {"filter": flt, "limit": 1000})["runsOrError"]
    if data["__typename"] != "Runs":
        raise RuntimeError(f"runsOrError: {data}")
    out: list[dict[str, Any]] = data["results"]
    for run in out:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return out


def run_messages(api: Queryable, run_id: str, max_pages: int = 50) -> list[str]:
    """Every event message of a run, oldest first (paged, at most ``max_pages`` pages)."""
    messages: list[str] = []
    cursor: str | None = None
    for _ in range(max_pages):
        data = api.graphql(LOGS_QUERY, {"runId": run_id, "afterCursor": cursor})["logsForRun"]
        if data["__typename"] != "EventConnection":
            raise RuntimeError(f"logsForRun: {data}")
        messages += [e.get("message") or "" for e in data["events"]]
        cursor = data["cursor"]
        if not data["hasMore"]:
            break
    return messages


def run_worker_pid(stack: DagsterStack, run_id: str) -> int | None:
    """The pid of the run's worker, from the event the code server's subprocess reports first
    ("Started process for run (pid: N)."); only if it is a live descendant of our code server,
    so a recycled pid of some other process is never returned."""
    prefix = "Started process for run (pid: "
    pids = [
        int(m[len(prefix) :].split(")", 1)[0])
        for m in run_messages(stack, run_id)
        if m.startswith(prefix)
    ]
    if not pids:
        return None
    pid = pids[-1]
    if pid in descendants(stack.code_server().pid) and pid_alive(pid):
        return pid
    return None


def execution_params(config: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """``executionParams`` of a ``launchRun`` of ``media_analysis_job``: ``config`` for
    ``register_request`` and the run's ``tags``, as n8n's "Launch run" node sends them."""
    return {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": JOB,
        },
        "runConfigData": {"ops": {"register_request": {"config": dict(config)}}},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }


def launch_run(api: Queryable, config: Mapping[str, Any], tags: Mapping[str, str]) -> str:
    """``launchRun`` with ``docs/graphql/launch_run.graphql``; the new run's id."""
    query = (ROOT / "docs" / "graphql" / "launch_run.graphql").read_text()
    launched = api.graphql(query, {"executionParams": execution_params(config, tags)})
    result = launched["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {result}")
    return str(result["run"]["runId"])


# -- a refused launch, as one sentence (docs/graphql.md, "A refused launch") ------------------
REFUSED_BY_CHECK = "InvalidRequestError"
"""``PythonError.className`` of a launch the project's validator refused (``check_request``)."""
_SCALAR_WORDS = {
    "Int": "a whole number",
    "Float": "a number",
    "Bool": "true or false",
    "String": "text",
}
_MEDIA_TYPES = "video, audio, document, auto"
_PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}


def refusal_sentence(result: Mapping[str, Any]) -> str:
    """The one sentence a client shows for a ``launchRun`` result that refused the config (the
    same rules as the n8n workflows' "Explain refusal" node); "" for any other result."""
    kind = result.get("__typename")
    if kind == "PythonError":
        if result.get("className") != REFUSED_BY_CHECK:
            return ""
        first_line = str(result.get("message") or "").split("\n", 1)[0]
        return re.sub(r"^[\w.]+: ", "", first_line).strip()
    if kind != "RunConfigValidationInvalid":
        return ""
    return " ".join(_config_error_sentence(e) for e in result.get("errors") or [])


def _config_error_sentence(error: Mapping[str, Any]) -> str:
    """One of Dagster's config errors (found by the schema, before the validator runs)."""
    names: list[str] = []
    for entry in (error.get("stack") or {}).get("entries") or []:
        if entry.get("fieldName") is not None:
            names.append(str(entry["fieldName"]))
        elif entry.get("listIndex") is not None and names:
            names[-1] += f"[{entry['listIndex']}]"
    if names[:1] == ["ops"] and names[2:3] == ["config"]:
        names = names[3:]
    field = ".".join(names) or "run config"
    message = str(error.get("message") or "")
    value = str(error.get("valueRep"))
    value = _PYTHON_LITERALS.get(value, value)
    expected = re.search(r'expected type "(\w+)"', message)
    if error.get("fieldName"):
        return ".".join([*names, str(error["fieldName"])]) + " is not a request option."
    if error.get("fieldNames"):
        return ", ".join(error["fieldNames"]) + " are not request options."
    if "enum type" in message:
        return f"{field} must be one of {_MEDIA_TYPES}, not {value}."
    if expected and expected.group(1) in _SCALAR_WORDS:
        return f"{field} must be {_SCALAR_WORDS[expected.group(1)]}, not {value}."
    if "must be list" in message:
        return f"{field} must be a list, not {value}."
    if "must be dict" in message:
        return f"{field} must be a JSON object, not {value}."
    message = re.sub(r' of type "<class \'\w+\'>"', "", message)
    return re.sub(r" at path root(:\w+)*", "", message)
