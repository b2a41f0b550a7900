"""``docs/n8n/search.json`` in a real n8n 2.x against real PostgreSQL: a webhook in, the hits of
``media_analysis_search`` out, through a read-only role that has only the documented grants.

What is checked is what a caller of the webhook sees: the same rows the SQL function (and so the
CLI) returns, the moment of each hit, a JSON reason with 400 for a bad body, and hits (or none)
for hostile queries: quotes, operators, SQL, NUL, lone surrogates, 10,000 characters, commas.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.schema import init_database
from media_analysis_dagster.db.segments import page_segments
from media_analysis_dagster.db.store import Store
from media_analysis_fixtures import pg
from media_analysis_fixtures.processes import wait_until

from .harness import N8n, install, running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (shutil.which("npm") and shutil.which("node") and shutil.which("jq")),
        reason="needs Node.js with npm, and jq",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs" / "n8n" / "search.json"
CREDENTIALS = ROOT / "docs" / "n8n" / "credentials.example.json"
WEBHOOK = "media-analysis/search"
# The grants of the README's "Search" section: a role that can search and nothing else.
GRANTS = (
    "GRANT SELECT ON media_analysis_segments, media_analysis_requests TO {role}",
    "GRANT EXECUTE ON FUNCTION media_analysis_search(text, integer, text, text, timestamptz), "
    "media_analysis_ts_config(text) TO {role}",
)
TRANSCRIPT = {
    "language": "en",
    "segments": [
        {"start": 0.0, "end": 3.0, "text": "Good morning, and welcome to the briefing."},
        {"start": 12.5, "end": 16.0, "text": "Our refund policy allows returns, within reason."},
    ],
}


def _admin(url: str, *statements: sql.Composable | str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def tables(pg_admin_url: str) -> Iterator[tuple[str, str, str, str]]:
    """The tables' database with two requests in it, and a read-only role for n8n:
    (admin URL of the database, its name, the role, its password)."""
    name = pg.create_database(pg_admin_url, prefix="ma_n8n_search")
    url = pg.with_database(pg_admin_url, name)
    role, password = f"ma_search_{secrets.token_hex(4)}", secrets.token_hex(12)
    engine = build_engine(url)
    try:
        init_database(engine)
        _fill(Store(engine))
        _admin(
            url,
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            ),
            *(sql.SQL(g).format(role=sql.Identifier(role)) for g in GRANTS),
        )
        yield url, name, role, password
    finally:
        engine.dispose()
        pg.drop_database(pg_admin_url, name)
        _admin(pg_admin_url, sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _fill(store: Store) -> None:
    video = store.create_request(media_type="video", media_path="/media/briefing, part 1.mp4")
    store.replace_rows(
        video["request_id"],
        results=[
            NewResult(result_type="transcription", provider="internal", content_json=TRANSCRIPT)
        ],
    )
    doc = store.create_request(media_type="document", media_url="https://docs.example.com/t.pdf")
    store.replace_rows(
        doc["request_id"],
        files=[NewFile(file_type="document", file_path="/d/text.txt")],
        segments=page_segments(
            [(1, "Terms of delivery."), (2, "Refunds are paid within fourteen days.")],
            file_index=0,
        ),
    )


def _set_up(n8n: N8n, tables: tuple[str, str, str, str]) -> None:
    """The README's way: credentials filled in with jq, the workflow imported and published."""
    from sqlalchemy.engine import make_url

    url, name, role, password = tables
    where = make_url(url)
    folder = n8n.user_folder / "import"
    folder.mkdir()
    filled = subprocess.run(
        [
            "jq",
            "--arg", "host", where.host or "127.0.0.1",
            "--argjson", "port", str(where.port or 5432),
            "--arg", "db", name, "--arg", "user", role, "--arg", "password", password,
            'map(select(.type == "postgres") | .data += '
            "{host: $host, port: $port, database: $db, user: $user, password: $password})",
            str(CREDENTIALS),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    (folder / "credentials.json").write_text(filled.stdout)
    n8n.cli("import:credentials", f"--input={folder / 'credentials.json'}")
    n8n.cli("import:workflow", f"--input={WORKFLOW}")
    n8n.cli("publish:workflow", f"--id={json.loads(WORKFLOW.read_text())['id']}")


@pytest.fixture(scope="module")
def n8n(
    tables: tuple[str, str, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[N8n]:
    instance = N8n(install(), tmp_path_factory.mktemp("n8n_search"))
    _set_up(instance, tables)
    with running(instance):
        wait_until(
            lambda: instance.post(WEBHOOK, {}, timeout=10)[0] == 400,
            timeout=60,
            what=f"the webhook {WEBHOOK}",
            interval=0.5,
        )
        yield instance


def _search(n8n: N8n, body: Any) -> tuple[int, Any]:
    return n8n.post(WEBHOOK, body, timeout=60)


def test_hits_come_out_as_the_sql_function_returns_them(
    n8n: N8n, tables: tuple[str, str, str, str]
) -> None:
    status, answer = _search(n8n, {"query": "refunds policies"})
    assert status == 200, answer
    [hit] = answer["hits"]
    assert answer["count"] == 1
    assert hit["media_name"] == "briefing, part 1.mp4" and hit["kind"] == "transcript"
    assert (hit["start_s"], hit["end_s"], hit["anchor"]) == (12.5, 16.0, "say-t=12.5")
    assert "«refund» «policy»" in hit["snippet"] and hit["language"] == "en"

    status, answer = _search(n8n, {"query": "refund", "limit": 10})
    engine = build_engine(tables[0])
    try:
        expected = Store(engine).search("refund", limit=10)
    finally:
        engine.dispose()
    keys = ("request_id", "kind", "start_s", "page", "snippet", "anchor", "media_name")
    assert [{k: h[k] for k in keys} for h in answer["hits"]] == [
        {k: h[k] for k in keys} for h in expected
    ]
    assert {h["kind"] for h in answer["hits"]} == {"transcript", "page"}
    page = next(h for h in answer["hits"] if h["kind"] == "page")
    assert page["page"] == 2 and page["media_name"] == "docs.example.com/t.pdf"

    status, answer = _search(n8n, {"query": "refund", "kind": "page", "media_type": "document"})
    assert status == 200 and [h["anchor"] for h in answer["hits"]] == ["page-2"]
    status, answer = _search(n8n, {"query": "refund", "since": "2999-01-01"})
    assert status == 200 and answer == {"hits": [], "count": 0}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1, 2], "must be a JSON object"),
        ({}, "query must be a non-empty string"),
        ({"query": "   "}, "query must be a non-empty string"),
        ({"query": "\u0000"}, "query must be a non-empty string"),
        ({"query": 5}, "query must be a non-empty string"),
        ({"query": "refund", "limit": 0}, "limit must be a whole number"),
        ({"query": "refund", "limit": -1}, "limit must be a whole number"),
        ({"query": "refund", "limit": "ten"}, "limit must be a whole number"),
        ({"query": "refund", "kind": "poem"}, "kind must be one of"),
        ({"query": "refund", "media_type": "auto"}, "media_type must be one of"),
        ({"query": "refund", "since": "last tuesday"}, "since must be an ISO 8601 date"),
    ],
)
def test_a_bad_body_is_one_sentence(n8n: N8n, body: Any, reason: str) -> None:
    status, answer = _search(n8n, body)
    assert status == 400 and reason in answer["error"], (status, answer)


@pytest.mark.parametrize(
    "query",
    [
        "x" * 10_000,
        '"unbalanced',
        "'; DROP TABLE media_analysis_segments; --",
        "refund) OR (1=1",
        "& | ! <-> :* \\",
        "a\u0000b refund",
        "-refund",
        "refund, policy, returns",
        "$1 $2 {{ $json }}",
    ],
)
def test_hostile_queries_answer_hits(n8n: N8n, query: str) -> None:
    status, answer = _search(n8n, {"query": query, "limit": 10**9})
    assert status == 200, answer
    assert answer["count"] == len(answer["hits"]) <= 100


def test_lone_surrogates_and_huge_limits(n8n: N8n) -> None:
    raw = b'{"query": "refund \\ud800 policy \\udfff", "limit": 1e12}'
    status, answer = _search(n8n, raw)
    assert status == 200 and answer["count"] == 1, answer
    started = time.monotonic()
    status, answer = _search(n8n, {"query": "refund " * 2000})
    assert status == 200 and time.monotonic() - started < 30
