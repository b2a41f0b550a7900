"""A lost database connection reads as one sentence, without the exception class or SQL."""

from __future__ import annotations

import sqlalchemy as sa

from media_analysis_dagster.errors import describe


def test_unreachable_database_is_one_sentence() -> None:
    engine = sa.create_engine("postgresql://nobody@127.0.0.1:1/none", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        text = describe(exc)
    else:  # pragma: no cover - nothing listens on port 1
        raise AssertionError("connected to port 1")
    assert text.startswith("The database could not be reached")
    assert "OperationalError" not in text and "SELECT" not in text and text.endswith(".")
