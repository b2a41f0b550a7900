"""The request rows of a running stack, written and read through the product's ``Store``.

Tests and benchmarks insert pending rows (as n8n's "Insert pending row" node does: one row per
commit, ``status='pending'``, picked up by the sensor) and watch them end. They go through
``media_analysis_dagster.db.store.Store`` so there is one definition of every query of the
four tables; each call opens its own engine and disposes of it, so a database restart between
calls (the fault scenarios) costs nothing but that call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store

TIME_COLUMNS = ("created_at", "started_at", "completed_at")


@contextmanager
def _store(database_url: str) -> Iterator[Store]:
    engine = build_engine(database_url, pool_size=1, max_overflow=0)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def insert_pending(
    database_url: str,
    count: int,
    *,
    media_path: str | None = None,
    media_url: str | None = None,
    prompt: str = "What happens in this clip?",
) -> list[tuple[str, datetime]]:
    """Insert ``count`` pending rows, each committed on its own as n8n's node does; returns
    ``(request_id, created_at)`` pairs in insertion order."""
    out: list[tuple[str, datetime]] = []
    with _store(database_url) as store:
        for _ in range(count):
            row = store.create_request(
                media_url=media_url,
                media_path=media_path,
                prompt=prompt,
                source_endpoint="n8n",
                created_by="integration-test",
            )
            out.append((row["request_id"], datetime.fromisoformat(row["created_at"])))
    return out


def request_statuses(database_url: str, request_ids: list[str]) -> dict[str, str]:
    """Status by request id, in one query: what a poll needs (rows not found are left out)."""
    with _store(database_url) as store:
        return store.statuses(request_ids)


def read_requests(database_url: str, request_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows by request id (rows not found are left out): every column, times as aware
    datetimes, and ``result_count``, the number of its result rows."""
    out: dict[str, dict[str, Any]] = {}
    with _store(database_url) as store:
        for request_id in request_ids:
            row = store.get_request(request_id, with_children=False)
            if row is None:
                continue
            for column in TIME_COLUMNS:
                if row.get(column):
                    row[column] = datetime.fromisoformat(row[column])
            out[request_id] = {**row, "result_count": len(store.results(request_id))}
    return out
