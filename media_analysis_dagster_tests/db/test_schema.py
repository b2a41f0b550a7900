"""``schema/*.sql`` is the contract; the ORM models must agree with it on PostgreSQL."""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg2
import pytest

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.models import Base
from media_analysis_dagster.db.schema import schema_files
from media_analysis_fixtures import pg

TABLES = ("media_analysis_requests", "media_analysis_results", "media_files", "contact_sheets")
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


def describe_schema(url: str) -> dict[str, Any]:
    """Columns, constraints and indexes of the four tables, as PostgreSQL reports them."""
    conn = psycopg2.connect(url)
    try:
        cur = conn.cursor()
        cur.execute(
            """SELECT table_name, column_name, data_type, character_maximum_length,
                      numeric_precision, numeric_scale, is_nullable, column_default
               FROM information_schema.columns WHERE table_name = ANY(%s)
               ORDER BY table_name, ordinal_position""",
            (list(TABLES),),
        )
        columns = cur.fetchall()
        cur.execute(
            """SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
               FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s)
               ORDER BY 1, 2""",
            (list(TABLES),),
        )
        constraints = cur.fetchall()
        cur.execute(
            """SELECT tablename, indexname, indexdef FROM pg_indexes
               WHERE tablename = ANY(%s) ORDER BY 1, 2""",
            (list(TABLES),),
        )
        indexes = cur.fetchall()
    finally:
        conn.close()
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


@pytest.fixture
def fresh_pg(pg_admin_url: str):
    names: list[str] = []

    def make() -> str:
        names.append(pg.create_database(pg_admin_url))
        return pg.with_database(pg_admin_url, names[-1])

    yield make
    for name in names:
        pg.drop_database(pg_admin_url, name)


def apply_with_psql(url: str) -> None:
    for path in schema_files():
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
    assert {name for _, name, _ in first["indexes"]} - {f"{t}_pkey" for t in TABLES} == SEED_INDEXES
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


def test_orm_models_agree_with_schema_files(fresh_pg) -> None:
    from_sql = fresh_pg()
    apply_with_psql(from_sql)
    from_orm = fresh_pg()
    engine = build_engine(from_orm)
    Base.metadata.create_all(engine)
    engine.dispose()
    expected, actual = describe_schema(from_sql), describe_schema(from_orm)
    assert actual["columns"] == expected["columns"]
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
