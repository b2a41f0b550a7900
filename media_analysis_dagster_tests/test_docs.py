"""The documentation artefacts operators copy are checked against the real things.

GraphQL texts (docs/graphql/*.graphql, the blocks in docs/graphql.md, the queries inside the n8n
workflows) validate against dagster-graphql's own schema; launch variables validate against that
schema and against ``media_analysis_job``'s run config; the n8n workflows are well formed and their
SQL runs on PostgreSQL with ``schema/`` applied; the deploy/ YAML files load, and both instance
configs are accepted by Dagster.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import graphql
import pytest
import yaml
from dagster import validate_run_config
from dagster_graphql.schema import create_schema

from media_analysis_dagster.jobs import media_analysis_job

ROOT = Path(__file__).resolve().parents[1]
DOCS, DEPLOY = ROOT / "docs", ROOT / "deploy"
CREDENTIALS = DOCS / "n8n" / "credentials.example.json"
WORKFLOWS = sorted(p for p in (DOCS / "n8n").glob("*.json") if p != CREDENTIALS)
GRAPHQL_FILES = sorted((DOCS / "graphql").glob("*.graphql"))
ALLOWED_OPERATIONS = {"launchRun", "runOrError", "terminateRun", "launchRunReexecution"}
NODE_TYPES = {
    f"n8n-nodes-base.{t}"
    for t in (
        "webhook",
        "set",
        "httpRequest",
        "if",
        "wait",
        "postgres",
        "crypto",
        "respondToWebhook",
    )
}
TABLES = {
    "media_analysis_requests",
    "media_analysis_results",
    "media_files",
    "contact_sheets",
}


@cache
def schema() -> graphql.GraphQLSchema:
    return create_schema().graphql_schema


def check_graphql(text: str) -> graphql.DocumentNode:
    """Parse, validate against the real schema, and use only the documented operations."""
    document = graphql.parse(text)
    assert graphql.validate(schema(), document) == [], text
    for definition in document.definitions:
        assert isinstance(definition, graphql.OperationDefinitionNode)
        fields = {s.name.value for s in definition.selection_set.selections}  # type: ignore[attr-defined]
        assert fields <= ALLOWED_OPERATIONS, fields
    return document


def check_variables(text: str, variables: dict[str, Any]) -> None:
    """Variables coerce against the operation's definitions; run config fits the job."""
    [operation] = graphql.parse(text).definitions
    assert isinstance(operation, graphql.OperationDefinitionNode)
    coerced = graphql.execution.values.get_variable_values(
        schema(), operation.variable_definitions, variables
    )
    assert isinstance(coerced, dict), coerced
    params = variables.get("executionParams")
    if params:
        assert params["selector"] == {
            "repositoryLocationName": "media_analysis_dagster",
            "repositoryName": "__repository__",
            "jobName": "media_analysis_job",
        }
        validate_run_config(media_analysis_job, params["runConfigData"])
        tags = {t["key"]: t["value"] for t in params["executionMetadata"]["tags"]}
        assert tags["media_analysis/source"] == "graphql"


# -- GraphQL -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", GRAPHQL_FILES, ids=lambda p: p.name)
def test_graphql_files_validate(path: Path) -> None:
    check_graphql(path.read_text())


def test_graphql_md_blocks_are_the_files() -> None:
    text = (DOCS / "graphql.md").read_text()
    blocks = re.findall(r"```graphql\n(.*?)```", text, re.S)
    assert len(blocks) == 4
    files = {_strip_comments(p.read_text()) for p in GRAPHQL_FILES}
    for block in blocks:
        check_graphql(block)
        assert _strip_comments(block) in files
    assert "--read-only" in text and "no authentication" in text
    assert "is processing, not pending" in text


def test_launch_variables_validate() -> None:
    launch = (DOCS / "graphql/launch_run.graphql").read_text()
    for path in sorted((DOCS / "graphql").glob("launch_run.*.variables.json")):
        check_variables(launch, json.loads(path.read_text()))


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


# -- n8n -------------------------------------------------------------------------------------
def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def nodes_of(workflow: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [n for n in workflow["nodes"] if n["type"] == f"n8n-nodes-base.{type_}"]


def node_named(workflow: dict[str, Any], name: str) -> dict[str, Any]:
    [node] = [n for n in workflow["nodes"] if n["name"] == name]
    return node


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def credentials() -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in load(CREDENTIALS)}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_well_formed(path: Path) -> None:
    workflow = load(path)
    assert {"id", "name", "nodes", "connections", "settings"} <= workflow.keys()
    names = [n["name"] for n in workflow["nodes"]]
    assert len(set(names)) == len(names)
    assert len({n["id"] for n in workflow["nodes"]}) == len(names)
    for node in workflow["nodes"]:
        assert {"parameters", "name", "type", "typeVersion", "position", "id"} <= node.keys()
        assert node["type"] in NODE_TYPES, node["type"]
        if node["type"].endswith("httpRequest"):
            assert node["typeVersion"] == 4.2 and node["parameters"]["options"]["timeout"]
        for kind, ref in node.get("credentials", {}).items():
            assert credentials()[ref["id"]]["type"] == kind, "credentials.example.json has it"
        for text in strings(node["parameters"]):
            assert "$env" not in text, "n8n 2.x denies $env by default: use the Settings node"
            if text.startswith("="):  # an n8n expression: {{ }} must pair up, braces inside too
                for code in re.findall(r"\{\{(.*?)\}\}", text, re.S):
                    assert code.count("{") == code.count("}"), code
                assert "{{" not in re.sub(r"\{\{.*?\}\}", "", text, flags=re.S)
    targets = set()
    for source, outputs in workflow["connections"].items():
        assert source in names
        for branch in outputs["main"]:
            for link in branch:
                assert link["node"] in names and link["type"] == "main"
                targets.add(link["node"])
    triggers = {n["name"] for n in nodes_of(workflow, "webhook")}
    assert set(names) - triggers == targets, "every node but the trigger is reachable"
    webhook = nodes_of(workflow, "webhook")[0]["parameters"]
    assert webhook["responseMode"] == "responseNode" and nodes_of(workflow, "respondToWebhook")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_path_ends_in_an_answer(path: Path) -> None:
    """No empty 200: every output of every node leads on, every failing node has an error
    output, and only Respond to Webhook nodes end a path (each error answer is non-2xx JSON)."""
    workflow = load(path)
    for node in workflow["nodes"]:
        outputs = workflow["connections"].get(node["name"], {}).get("main", [])
        if node["type"].endswith("respondToWebhook"):
            assert not any(outputs), f"{node['name']} answers, so nothing follows it"
            assert node["parameters"]["respondWith"] == "json"
            code = node["parameters"]["options"]["responseCode"]
            if not node["name"].startswith(("Respond with result", "Respond accepted")):
                assert str(code).startswith("=") or code >= 400, (node["name"], code)
                assert "JSON.stringify({ error:" in node["parameters"]["responseBody"]
            continue
        can_fail = node["type"].endswith(("httpRequest", "postgres", "crypto"))
        if can_fail:
            assert node.get("onError") == "continueErrorOutput", node["name"]
        expected = 2 if can_fail or node["type"].endswith(".if") else 1
        assert len(outputs) == expected and all(outputs), (node["name"], outputs)
    names = {n["name"] for n in workflow["nodes"]}
    assert {"Check request", "Valid?", "Respond bad request"} <= names, "the body is checked first"


def embedded_queries(workflow: dict[str, Any]) -> dict[str, str]:
    """The GraphQL text inside each HTTP node's body expression (a JS string literal)."""
    out = {}
    for node in nodes_of(workflow, "httpRequest"):
        body = node["parameters"]["jsonBody"]
        [literal] = re.findall(r'query: ("(?:[^"\\]|\\.)*")', body)
        out[node["name"]] = json.loads(literal)
    return out


@pytest.mark.parametrize("name", ["launch_and_wait", "launch_and_callback"])
def test_launch_workflow_queries_are_the_documented_files(name: str) -> None:
    queries = embedded_queries(load(DOCS / f"n8n/{name}.json"))
    assert queries["Launch run"] == (DOCS / "graphql/launch_run.graphql").read_text()
    if name == "launch_and_wait":
        assert queries["Poll run status"] == (DOCS / "graphql/run_status.graphql").read_text()
        status = graphql.print_ast(graphql.parse(queries["Poll run status"]))
        assert "status" in status and re.search(r"tags \{\s*key\s*value", status)
    for text in queries.values():
        check_graphql(text)


def postgres_queries() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in WORKFLOWS:
        for node in nodes_of(load(path), "postgres"):
            assert node["parameters"]["operation"] == "executeQuery"
            assert node["typeVersion"] >= 2.5, "the JSON-parameter rule below is v2.5+'s"
            out.append((path.name, node))
    return out


def test_sql_uses_only_the_four_tables_and_their_columns() -> None:
    from media_analysis_dagster.db.models import Base

    columns = {name: {c.name for c in Base.metadata.tables[name].columns} for name in TABLES}
    for _, node in postgres_queries():
        name, sql = node["name"], node["parameters"]["query"]
        tables = set(re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)\b(?!\()", sql, re.I))
        # search.json reads through one function (schema/003_search.sql), no table directly.
        reads_search = "media_analysis_search(" in sql
        assert (tables or reads_search) and tables <= TABLES, (name, tables)
        aliases = dict(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)\s+(\w+)", sql, re.I))
        alias_table = {alias: table for table, alias in aliases.items()}
        for alias, column in re.findall(r"\b(\w+)\.(\w+)\b", sql):
            if alias in alias_table:
                assert column in columns[alias_table[alias]], (name, alias, column)
        insert_cols = "".join(re.findall(r"INTO \w+\s*\(([^)]*)\)", sql))
        for column in filter(None, (c.strip() for c in insert_cols.split(","))):
            assert column in columns["media_analysis_requests"], column
        # One parameter, $1, a JSON object: n8n passes a JSON value whole and splits anything
        # else on commas, so a prompt with commas would otherwise shift the parameters.
        assert set(re.findall(r"\$(\d+)", sql)) == {"1"} and "$1::jsonb" in sql, name
        replacement = node["parameters"]["options"]["queryReplacement"]
        assert re.fullmatch(r"=\{\{ JSON\.stringify\(\{.*\}\) \}\}", replacement, re.S), name


def n8n_parameters(evaluated: str) -> list[str]:
    """What n8n's Postgres node (v2.5+, ``executeQuery``) makes of one evaluated ``{{ }}``:
    a JSON text is one parameter, anything else is split on commas."""
    try:
        json.loads(evaluated.strip())
    except ValueError:
        return [part.strip() for part in evaluated.split(",") if part]
    return [evaluated]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_sql_runs_on_postgresql(pg_url: str) -> None:
    """The strongest check without n8n: the exact statements, with the parameter each node
    computes (by Node.js) from a body full of commas and quotes, on the real schema."""
    from sqlalchemy import text

    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.rows import NewResult
    from media_analysis_dagster.db.store import Store

    engine = build_engine(pg_url)
    store = Store(engine)
    rid = store.create_request(media_type="video", media_url="https://example.com/v.mp4")
    rid = rid["request_id"]
    store.replace_rows(rid, results=[NewResult(result_type="summary", provider="internal")])
    body = {
        "media_url": "https://example.com/a,b.mp4",
        "prompt": "Who is in it, what happens, and where? It's 'quoted', $2.",
        "created_by": "ops, nights",
        "callback_url": "https://hooks.example.com/x",
    }
    inputs = {
        "Search": {"body": {"query": "Who, what; 'quoted' \"or\" -$2 \u0000", "limit": 10**9}},
        "Insert pending row": {"body": body},
        "Read request and results": {
            "data": {"runOrError": {"tags": [{"key": "media_analysis/request_id", "value": rid}]}}
        },
    }
    for _, node in postgres_queries():
        name, sql = node["name"], node["parameters"]["query"]
        evaluated = n8n_eval(node["parameters"]["options"]["queryReplacement"], inputs[name], {})
        [value] = n8n_parameters(evaluated)
        with engine.begin() as conn:
            rows = conn.execute(text(sql.replace(":", r"\:").replace("$1", ":p")), {"p": value})
            rows = rows.mappings().all()
        if name == "Search":  # nothing is indexed here: no hits, and no error
            assert rows == [], rows
            continue
        assert len(rows) == 1, name
        if name == "Read request and results":
            assert str(rows[0]["request_id"]) == rid
            assert [r["result_type"] for r in rows[0]["results"]] == ["summary"]
            assert rows[0]["contact_sheets"] == []
        else:
            assert rows[0]["status"] == "pending"
            stored = store.get_request(str(rows[0]["request_id"]))
            assert stored is not None
            assert (stored["prompt"], stored["created_by"]) == (body["prompt"], "ops, nights")
            assert stored["user_metadata"] == {"callback_url": body["callback_url"]}
    engine.dispose()


NODE_EVAL = """
const [expr, ctx] = [process.argv[1], JSON.parse(process.argv[2])];
const node = (name) => ({ json: ctx.nodes[name] });
const $ = (name) => ({ first: () => node(name), last: () => node(name) });
const out = expr.slice(1).replace(/\\{\\{([\\s\\S]*?)\\}\\}/g, (m, code) =>
  String(new Function('$json', '$', '$execution', '$runIndex', 'return (' + code + ');')(
    ctx.json, $, ctx.execution, ctx.runIndex)));
process.stdout.write(out);
"""


def n8n_eval(
    expression: str,
    json_: Any,
    nodes: dict[str, Any],
    *,
    execution: dict[str, Any] | None = None,
    run_index: int = 0,
) -> str:
    """Evaluate an n8n ``={{ … }}`` expression with Node.js (the JS n8n itself runs);
    ``$('Settings')`` answers the shipped Settings values unless ``nodes`` says otherwise."""
    ctx = {
        "json": json_,
        "nodes": {"Settings": SETTINGS, **nodes},
        "execution": execution or {"resumeUrl": "http://n8n:5678/webhook-waiting/1"},
        "runIndex": run_index,
    }
    result = subprocess.run(
        ["node", "-e", NODE_EVAL, expression, json.dumps(ctx)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


SETTINGS = {"dagster_url": "http://dagster:3000/", "poll_seconds": 5, "max_polls": 720}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_launch_workflow_bodies_evaluate_to_valid_requests() -> None:
    workflow = load(DOCS / "n8n/launch_and_wait.json")
    http = {n["name"]: n["parameters"] for n in nodes_of(workflow, "httpRequest")}
    webhook = {"body": {"media_url": "https://example.com/clip.mp4", "prompt": 'Say "hi", then'}}
    launch = json.loads(n8n_eval(http["Launch run"]["jsonBody"], webhook, {}))
    assert n8n_eval(http["Launch run"]["url"], {}, {}) == "http://dagster:3000/graphql"
    check_variables(launch["query"], launch["variables"])
    config = launch["variables"]["executionParams"]["runConfigData"]["ops"]["register_request"]
    assert config["config"]["prompt"] == 'Say "hi", then'
    launched = {"data": {"launchRun": {"run": {"runId": "r-1"}}}}
    poll = json.loads(n8n_eval(http["Poll run status"]["jsonBody"], {}, {"Launch run": launched}))
    assert poll["variables"] == {"runId": "r-1"}
    check_variables(poll["query"], poll["variables"])
    read = nodes_of(workflow, "postgres")[0]["parameters"]["options"]["queryReplacement"]
    run = {"data": {"runOrError": {"tags": [{"key": "media_analysis/request_id", "value": "x"}]}}}
    assert json.loads(n8n_eval(read, run, {})) == {"request_id": "x"}
    shipped = {
        a["name"]: a["value"]
        for a in node_named(workflow, "Settings")["parameters"]["assignments"]["assignments"]
    }
    assert shipped == {**SETTINGS, "dagster_url": "http://dagster-webserver:3000"}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_callback_launch_passes_the_resume_url() -> None:
    workflow = load(DOCS / "n8n/launch_and_callback.json")
    body = node_named(workflow, "Launch run")["parameters"]["jsonBody"]
    webhook = {"body": {"media_path": "/srv/media/inbox/a.mp4", "prompt": "a, b"}}
    resume = {"resumeUrl": "http://n8n:5678/webhook-waiting/42"}
    launch = json.loads(n8n_eval(body, webhook, {}, execution=resume))
    check_variables(launch["query"], launch["variables"])
    config = launch["variables"]["executionParams"]["runConfigData"]["ops"]["register_request"]
    assert config["config"] == {
        "media_type": "auto",
        "created_by": "n8n",
        "source_endpoint": "graphql",
        "media_path": "/srv/media/inbox/a.mp4",
        "prompt": "a, b",
        "callback_url": "http://n8n:5678/webhook-waiting/42",
    }
    wait = node_named(workflow, "Wait for callback")["parameters"]
    assert (wait["resume"], wait["httpMethod"], wait["options"]) == (
        "webhook",
        "POST",
        {"rawBody": True},
    )
    check = node_named(workflow, "Signature valid?")["parameters"]["conditions"]["conditions"]
    assert "x-media-analysis-signature" in check[0]["leftValue"]


LAUNCHING = [p for p in WORKFLOWS if p.name != "search.json"]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
@pytest.mark.parametrize("path", LAUNCHING, ids=lambda p: p.name)
def test_bodies_are_checked_before_anything_runs(path: Path) -> None:
    check = node_named(load(path), "Check request")["parameters"]["assignments"]["assignments"]
    [error] = [a["value"] for a in check if a["name"] == "error"]
    good = {"media_url": "https://x/a.mp4", "prompt": "a, b", "media_type": "video"}
    assert n8n_eval(error, {"body": good}, {}) == ""
    assert n8n_eval(error, {"body": {"media_path": "/a.mp4"}}, {}) == ""
    for body, reason in [
        ({}, "media_url or media_path is required."),
        ([1], "The request body must be a JSON object."),
        ({"media_url": "https://x", "media_path": "/a"}, "Give media_url or media_path, not both."),
        ({"media_url": "https://x", "media_type": "image"}, "media_type must be one of"),
        ({"media_url": "https://x", "prompt": ["a"]}, "prompt must be a string."),
    ]:
        assert n8n_eval(error, {"body": body}, {}).startswith(reason), body


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js not installed")
def test_search_bodies_are_checked_before_anything_runs() -> None:
    check = node_named(load(DOCS / "n8n" / "search.json"), "Check request")["parameters"]
    [error] = [a["value"] for a in check["assignments"]["assignments"] if a["name"] == "error"]
    assert n8n_eval(error, {"body": {"query": "refund"}}, {}) == ""
    assert (
        n8n_eval(error, {"body": {"query": "refund", "kind": "transcript", "limit": 5}}, {}) == ""
    )
    for body, reason in [
        ({}, "query must be a non-empty string"),
        ({"query": " \u0000 "}, "query must be a non-empty string"),
        ([1], "The request body must be a JSON object."),
        ({"query": "x", "limit": 0}, "limit must be a whole number"),
        ({"query": "x", "kind": "everything"}, "kind must be one of"),
        ({"query": "x", "media_type": "image"}, "media_type must be one of"),
        ({"query": "x", "since": "yesterday-ish"}, "since must be an ISO 8601"),
    ]:
        assert n8n_eval(error, {"body": body}, {}).startswith(reason), body


# -- deploy/ ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.y*ml")), ids=lambda p: p.name)
def test_deploy_yaml_loads(path: Path) -> None:
    assert isinstance(yaml.safe_load(path.read_text()), dict)


def test_dev_instance_config_is_a_valid_sqlite_instance(tmp_path: Path) -> None:
    from dagster import DagsterInstance

    shutil.copy(DEPLOY / "dagster.dev.yaml", tmp_path / "dagster.yaml")
    assert "storage" not in yaml.safe_load((tmp_path / "dagster.yaml").read_text())
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.is_persistent and str(tmp_path) in instance.root_directory
        settings = instance.get_concurrency_config()
        assert settings.run_queue_config.max_concurrent_runs == 2
        assert settings.pool_config.default_pool_limit == 2
        assert not instance.telemetry_enabled
    finally:
        instance.dispose()


def test_production_instance_config_starts_on_postgresql(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    shutil.copy(DEPLOY.parent / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.run_retries_enabled and instance.run_monitoring_enabled
        assert instance.get_runs_count() == 0
        ref = instance.get_ref()  # what run workers rebuild the instance from
        assert ref.storage_data.class_name == "EnvSelectedStorage"
    finally:
        instance.dispose()


def test_production_instance_config_falls_back_to_sqlite_without_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    shutil.copy(DEPLOY.parent / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    finally:
        instance.dispose()
    monkeypatch.setenv("MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES", "1")
    with pytest.raises(Exception, match="DAGSTER_POSTGRES_URL is not set"):
        DagsterInstance.from_config(str(tmp_path))


def test_workspace_and_processes_match(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster._core.workspace.config_schema import process_workspace_config

    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "localhost")
    result = process_workspace_config(yaml.safe_load((DEPLOY / "workspace.grpc.yaml").read_text()))
    assert result.success, result.errors
    [entry] = result.value["load_from"]
    assert entry["grpc_server"] == {
        "host": "localhost",
        "port": 4000,
        "location_name": "media_analysis_dagster",
    }
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    assert services["code-server"]["command"][:5] == [
        "dagster",
        "code-server",
        "start",
        "-m",
        "media_analysis_dagster.definitions",
    ]
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    helm = yaml.safe_load((DEPLOY / "helm/values.yaml").read_text())
    assert helm["runLauncher"]["type"] == "K8sRunLauncher"
    assert helm["dagsterWebserver"]["enableReadOnly"] is True
    subprocess.run(["bash", "-n", str(DEPLOY / "commands.sh")], check=True)
