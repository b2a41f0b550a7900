"""Apply ``schema/*.sql`` (PostgreSQL) or create the tables from the models (SQLite).

The SQL files are the contract with n8n, so on PostgreSQL they, not the models, create the
tables; they are idempotent, so ``media-analysis db init`` is safe to run again.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from .. import settings
from .models import Base


def schema_dir() -> Path:
    """``MEDIA_ANALYSIS_SCHEMA_DIR`` or the ``schema/`` folder beside the package."""
    path = settings.schema_dir() or Path(__file__).resolve().parents[2] / "schema"
    if not path.is_dir():
        raise FileNotFoundError(
            f"schema directory {path} not found; set MEDIA_ANALYSIS_SCHEMA_DIR to the project's "
            "schema/ folder"
        )
    return path


def schema_files(directory: Path | None = None) -> list[Path]:
    return sorted((directory or schema_dir()).glob("*.sql"))


def init_database(engine: Engine) -> list[str]:
    """Create the four tables; returns what was applied (file names or ``models``)."""
    if engine.dialect.name != "postgresql":
        Base.metadata.create_all(engine)
        return ["models"]
    applied = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for path in schema_files():
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
    checkout); PostgreSQL is the operator's database and is initialised explicitly with
    ``media-analysis db init`` from ``schema/``.
    """
    key = str(engine.url)
    if engine.dialect.name == "sqlite" and key not in _ensured:
        Base.metadata.create_all(engine)
        _ensured.add(key)
