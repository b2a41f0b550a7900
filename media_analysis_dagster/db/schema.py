"""Apply ``schema/*.sql`` (PostgreSQL) or create the tables from the models (SQLite).

The SQL files are the contract with n8n, so on PostgreSQL they, not the models, create the
tables; they are idempotent, so ``media-analysis db init`` is safe to run again (and is how a
database made before ``002_additions.sql`` gets the added tables). Where the files are is the
caller's to say (the CLI reads it from the settings); this package reads no environment.

SQLite's search index is an FTS5 table over ``media_analysis_segments`` (external content: the
text is stored once, in the segments table) kept in step by triggers, so every write of a
segment, a cascade from a deleted result or request included, updates the index in the same
transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine

from .models import Base

# The project's ``schema/`` folder, beside the package in a checkout.
DEFAULT_SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"


def schema_dir(directory: Path | None = None) -> Path:
    """``directory`` (default: the project's ``schema/`` folder), checked to exist."""
    path = Path(directory) if directory is not None else DEFAULT_SCHEMA_DIR
    if not path.is_dir():
        raise FileNotFoundError(
            f"schema directory {path} not found; point MEDIA_ANALYSIS_SCHEMA_DIR at the "
            "project's schema/ folder"
        )
    return path


def schema_files(directory: Path | None = None) -> list[Path]:
    """The SQL files in the order they apply (by file name: 001, 002, …)."""
    return sorted(schema_dir(directory).glob("*.sql"))


def init_database(engine: Engine, directory: Path | None = None) -> list[str]:
    """Create the tables; returns what was applied (file names, or ``models`` on SQLite).

    ``directory`` holds the SQL files (default: the project's ``schema/`` folder); SQLite, the
    embedded default, is made from the models, which hold the same tables.
    """
    if engine.dialect.name != "postgresql":
        Base.metadata.create_all(engine)
        if engine.dialect.name == "sqlite":
            with engine.begin() as conn:
                ensure_sqlite_search(conn)
        return ["models"]
    applied = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for path in schema_files(directory):
            cursor.execute(path.read_text())
            applied.append(path.name)
        cursor.close()
        raw.commit()
    finally:
        raw.close()
    return applied


_ensured: set[str] = set()


def ensure_embedded_tables(engine: Engine) -> None:
    """Create the tables of the embedded SQLite database on first use (once per process).

    The embedded default should work without a setup step (``make dev``, a UI launch on a fresh
    checkout), and a database made by an earlier version gets the tables added since
    (``create_all`` creates only what is missing); PostgreSQL is the operator's database and is
    initialised explicitly with ``media-analysis db init`` from ``schema/``.
    """
    key = str(engine.url)
    if engine.dialect.name == "sqlite" and key not in _ensured:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            ensure_sqlite_search(conn)
        _ensured.add(key)


FTS_TABLE = "media_analysis_segments_fts"
_SQLITE_SEARCH = (
    # unicode61 folds case and (remove_diacritics 2) accents, so "Rückerstattung" is found by
    # "ruckerstattung"; stemming is done on the query side (``db/store/search.py``).
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        text, content='media_analysis_segments', content_rowid='segment_id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER IF NOT EXISTS media_analysis_segments_fts_insert
        AFTER INSERT ON media_analysis_segments BEGIN
            INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.segment_id, new.text);
        END""",
    f"""CREATE TRIGGER IF NOT EXISTS media_analysis_segments_fts_delete
        AFTER DELETE ON media_analysis_segments BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text)
            VALUES ('delete', old.segment_id, old.text);
        END""",
    f"""CREATE TRIGGER IF NOT EXISTS media_analysis_segments_fts_update
        AFTER UPDATE OF text ON media_analysis_segments BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text)
            VALUES ('delete', old.segment_id, old.text);
            INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.segment_id, new.text);
        END""",
)


def ensure_sqlite_search(conn: Connection) -> None:
    """The FTS5 table and its triggers (idempotent); a table made now over segments that
    already exist is filled from them (``rebuild``)."""
    existed = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
    ).first()
    for statement in _SQLITE_SEARCH:
        conn.exec_driver_sql(statement)
    if existed is None:
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
