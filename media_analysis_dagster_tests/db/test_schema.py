"""``schema/*.sql`` is the contract; the ORM models must agree with it on PostgreSQL.

``001_init.sql`` is the seed's four tables, exactly, and never changes; ``002_additions.sql``
and ``003_search.sql`` only add tables (and search's functions) beside them.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.models import Base
from media_analysis_dagster.db.schema import DEFAULT_SCHEMA_DIR, init_database, schema_files
from media_analysis_fixtures import pg

SEED_TABLES = (
    "media_analysis_requests",
    "media_analysis_results",
    "media_files",
    "contact_sheets",
)
ADDED_TABLES = ("media_analysis_budget", "media_analysis_callbacks", "media_analysis_segments")
# SQLite's search index: the FTS5 table and the shadow tables FTS5 keeps beside it.
FTS_TABLES = {
    f"media_analysis_segments_fts{end}" for end in ("", "_config", "_data", "_docsize", "_idx")
}
TABLES = SEED_TABLES + ADDED_TABLES
# sha256 of schema/001_init.sql as the seed made it: n8n's contract is never edited in place.
SEED_SQL_SHA256 = "92c2084665e2249b7ccdc177349f070528ad70866b47ccf69cd0436ab7f60de7"
SEED_INDEXES = {
    "idx_media_requests_status",
    "idx_media_requests_created_at",
    "idx_media_requests_media_type",
    "idx_media_requests_status_created",
    "idx_results_request_id",
    "idx_results_result_type",
    "idx_results_provider",
    "idx_results_created_at",
    "idx_files_request_id",
    "idx_files_file_type",
    "idx_files_created_at",
    "idx_files_mime_type",
    "idx_contact_sheets_request_id",
    "idx_contact_sheets_file_id",
}
ADDED_INDEXES = {
    "idx_callbacks_status_next_attempt",
    "idx_callbacks_request_id",
    "media_analysis_callbacks_delivery_id_key",
    "idx_segments_tsv",
    "idx_segments_request_id",
    "idx_segments_result_id",
    "idx_segments_file_id",
    "idx_segments_kind",
    "idx_segments_language",
}
SEARCH_FUNCTIONS = ("media_analysis_ts_config",)


def describe_schema(url: str, tables: tuple[str, ...] = TABLES) -> dict[str, Any]:
    """Columns, constraints and indexes of ``tables``, as PostgreSQL reports them."""
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(
            """SELECT table_name, column_name, data_type, character_maximum_length,
                      numeric_precision, numeric_scale, is_nullable, column_default
               FROM information_schema.columns WHERE table_name = ANY(%s)
               ORDER BY table_name, ordinal_position""",
            (list(tables),),
        )
        columns = cur.fetchall()
        cur.execute(
            """SELECT table_name, column_name, is_identity, identity_generation, is_generated,
                      generation_expression
               FROM information_schema.columns
               WHERE table_name = ANY(%s) AND (is_identity = 'YES' OR is_generated <> 'NEVER')
               ORDER BY table_name, column_name""",
            (list(tables),),
        )
        generated = cur.fetchall()
        cur.execute(
            """SELECT proname, pg_get_functiondef(oid) FROM pg_proc
               WHERE proname = ANY(%s) ORDER BY 1""",
            (list(SEARCH_FUNCTIONS) if "media_analysis_segments" in tables else [],),
        )
        functions = cur.fetchall()
        cur.execute(
            """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)
               ORDER BY 1, 2""",
            (list(tables),),
        )
        constraints = cur.fetchall()
        cur.execute(
            """SELECT tablename, indexname, indexdef FROM pg_indexes
               WHERE tablename = ANY(%s) ORDER BY 1, 2""",
            (list(tables),),
        )
        indexes = cur.fetchall()
    finally:
        conn.close()
    return {
        "columns": columns,
        "generated": generated,
        "functions": functions,
        "constraints": constraints,
        "indexes": indexes,
    }


@pytest.fixture
def fresh_pg(pg_admin_url: str):
    names: list[str] = []

    def make() -> str:
        names.append(pg.create_database(pg_admin_url))
        return pg.with_database(pg_admin_url, names[-1])

    yield make
    for name in names:
        pg.drop_database(pg_admin_url, name)


def apply_with_psql(url: str, directory: Path | None = None) -> None:
    for path in schema_files(directory):
        subprocess.run(
            ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
            check=True,
            capture_output=True,
        )


def test_schema_files_apply_twice_with_psql_and_create_the_seed(fresh_pg) -> None:
    url = fresh_pg()
    apply_with_psql(url)
    first = describe_schema(url)
    apply_with_psql(url)
    assert describe_schema(url) == first
    indexes = {name for _, name, _ in first["indexes"]} - {f"{t}_pkey" for t in TABLES}
    assert indexes == SEED_INDEXES | ADDED_INDEXES
    fks = {name: d for _, name, kind, d in first["constraints"] if kind == "f"}
    assert "ON DELETE CASCADE" in fks["media_analysis_results_request_id_fkey"]
    assert "ON DELETE CASCADE" in fks["media_files_request_id_fkey"]
    assert "ON DELETE CASCADE" in fks["contact_sheets_request_id_fkey"]
    assert "ON DELETE SET NULL" in fks["contact_sheets_file_id_fkey"]
    cols = {(t, c): (dt, n, d) for t, c, dt, _, _, _, n, d in first["columns"]}
    assert cols[("media_analysis_requests", "request_id")] == ("uuid", "NO", "gen_random_uuid()")
    assert cols[("media_analysis_requests", "status")][2] == "'pending'::character varying"
    assert cols[("media_analysis_requests", "provider_chain")][2] == "'[]'::jsonb"
    assert cols[("media_analysis_requests", "error_details")] == ("jsonb", "YES", None)
    assert cols[("contact_sheets", "generation_method")][2] == "'ffmpeg'::character varying"
    assert len([c for c in cols if c[0] == "media_analysis_requests"]) == 18
    assert len([c for c in cols if c[0] == "media_analysis_results"]) == 13
    assert len([c for c in cols if c[0] == "media_files"]) == 16
    assert len([c for c in cols if c[0] == "contact_sheets"]) == 16


def test_schema_files_create_the_added_tables(fresh_pg) -> None:
    url = fresh_pg()
    apply_with_psql(url)
    schema = describe_schema(url, ADDED_TABLES)
    fks = {name: d for _, name, kind, d in schema["constraints"] if kind == "f"}
    assert "ON DELETE CASCADE" in fks["media_analysis_budget_request_id_fkey"]
    assert "ON DELETE CASCADE" in fks["media_analysis_callbacks_request_id_fkey"]
    kinds = {name: kind for _, name, kind, _ in schema["constraints"]}
    assert kinds["media_analysis_callbacks_delivery_id_key"] == "u"
    assert kinds["media_analysis_callbacks_status_check"] == "c"
    cols = {(t, c): (dt, n, d) for t, c, dt, _, _, _, n, d in schema["columns"]}
    assert cols[("media_analysis_budget", "request_id")] == ("uuid", "NO", None)
    assert cols[("media_analysis_budget", "spent_usd")] == ("numeric", "NO", "0")
    assert cols[("media_analysis_callbacks", "callback_id")][2] == "gen_random_uuid()"
    assert cols[("media_analysis_callbacks", "payload")] == ("jsonb", "NO", None)
    assert cols[("media_analysis_callbacks", "status")][2] == "'pending'::character varying"
    assert len([c for c in cols if c[0] == "media_analysis_budget"]) == 4
    assert len([c for c in cols if c[0] == "media_analysis_callbacks"]) == 12


def test_the_search_file_adds_segments_that_go_with_their_rows(fresh_pg) -> None:
    url = fresh_pg()
    apply_with_psql(url)
    schema = describe_schema(url, ("media_analysis_segments",))
    fks = {name: d for _, name, kind, d in schema["constraints"] if kind == "f"}
    for source in ("request_id", "result_id", "file_id"):
        assert "ON DELETE CASCADE" in fks[f"media_analysis_segments_{source}_fkey"]
    cols = {c: (dt, n) for _, c, dt, _, _, _, n, _ in schema["columns"]}
    assert cols["tsv"] == ("tsvector", "YES") and cols["text"] == ("text", "NO")
    assert cols["language"] == ("character varying", "YES")
    generated = {c: (ident, gen, expr) for _, c, ident, _, gen, expr in schema["generated"]}
    assert generated["segment_id"][0] == "YES"
    assert generated["tsv"][1:] == (
        "ALWAYS",
        "to_tsvector(media_analysis_ts_config((language)::text), text)",
    )
    indexes = {name: d for _, name, d in schema["indexes"]}
    assert "USING gin (tsv) WITH (fastupdate=off)" in indexes["idx_segments_tsv"]
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT media_analysis_ts_config(l)::text FROM unnest(%s::text[]) AS l",
            (["en", "DE", "fr", "xx", None, "nb"],),
        )
        configs = [r[0] for r in cur.fetchall()]
        assert configs == ["english", "german", "french", "simple", "simple", "norwegian"]
        cur.execute("SELECT provolatile FROM pg_proc WHERE proname = 'media_analysis_search'")
        assert cur.fetchall() == [("s",)], "one stable function; n8n calls it by name"
    finally:
        conn.close()


def test_the_seed_file_is_unchanged() -> None:
    """Later changes go into new numbered files; 001 stays the seed's schema byte for byte."""
    seed = DEFAULT_SCHEMA_DIR / "001_init.sql"
    assert hashlib.sha256(seed.read_bytes()).hexdigest() == SEED_SQL_SHA256
    assert [p.name for p in schema_files()][:3] == [
        "001_init.sql",
        "002_additions.sql",
        "003_search.sql",
    ]


def test_later_files_only_add(fresh_pg, tmp_path: Path) -> None:
    """The seed's four tables are the same with or without the files after 001 (n8n's view)."""
    only_seed = tmp_path / "schema"
    only_seed.mkdir()
    shutil.copy(DEFAULT_SCHEMA_DIR / "001_init.sql", only_seed)
    seed_url, full_url = fresh_pg(), fresh_pg()
    apply_with_psql(seed_url, only_seed)
    apply_with_psql(full_url)
    assert describe_schema(full_url, SEED_TABLES) == describe_schema(seed_url, SEED_TABLES)
    apply_with_psql(seed_url)  # an existing seed database gets the additions on the next init
    assert describe_schema(seed_url) == describe_schema(full_url)


def test_init_database_takes_the_schema_directory(fresh_pg, tmp_path: Path) -> None:
    only_seed = tmp_path / "schema"
    only_seed.mkdir()
    shutil.copy(DEFAULT_SCHEMA_DIR / "001_init.sql", only_seed)
    engine = build_engine(fresh_pg())
    try:
        assert init_database(engine, only_seed) == ["001_init.sql"]
        assert init_database(engine) == ["001_init.sql", "002_additions.sql", "003_search.sql"]
    finally:
        engine.dispose()
    with pytest.raises(FileNotFoundError, match="schema directory"):
        schema_files(tmp_path / "missing")


def test_sqlite_gets_every_table_from_the_models(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    engine = build_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    try:
        assert init_database(engine) == ["models"]
        assert set(inspect(engine).get_table_names()) == set(TABLES) | FTS_TABLES
    finally:
        engine.dispose()


def test_orm_models_agree_with_schema_files(fresh_pg) -> None:
    from_sql = fresh_pg()
    apply_with_psql(from_sql)
    from_orm = fresh_pg()
    engine = build_engine(from_orm)
    Base.metadata.create_all(engine)
    engine.dispose()
    expected, actual = describe_schema(from_sql), describe_schema(from_orm)
    assert actual["columns"] == expected["columns"]
    assert actual["generated"] == expected["generated"]
    assert actual["functions"] == expected["functions"]
    assert actual["constraints"] == expected["constraints"]
    assert actual["indexes"] == expected["indexes"]


def test_provider_layer_names_match_the_table_checks() -> None:
    """Every provider and result type the provider layer can write is allowed by the seed's
    CHECKs (the table constants are the one list; ``providers/`` does not repeat it)."""
    from media_analysis_dagster.db import constants
    from media_analysis_dagster.providers.chain import DEFAULT_CHAINS
    from media_analysis_dagster.providers.specs import ALL_SPECS

    assert set(ALL_SPECS) | {"internal"} <= set(constants.PROVIDERS)
    assert set(DEFAULT_CHAINS) <= set(constants.RESULT_TYPES)
    assert all(set(chain) <= set(constants.PROVIDERS) for chain in DEFAULT_CHAINS.values())


def test_an_older_embedded_database_gets_the_added_tables(tmp_path: Path) -> None:
    """A SQLite file made before 002 (only the seed's tables) is completed on first use."""
    from sqlalchemy import inspect

    from media_analysis_dagster.db.schema import ensure_embedded_tables

    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in SEED_TABLES])
        ensure_embedded_tables(engine)
        assert set(inspect(engine).get_table_names()) == set(TABLES) | FTS_TABLES
    finally:
        engine.dispose()
