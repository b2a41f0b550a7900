"""Retention: requests past their status's age, stuck runs, and deleting requests.

Deleting a request is enough: its results, files, contact sheets, budget ledger and queued
callbacks go with it (``ON DELETE CASCADE`` in the database).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from ..models import MediaAnalysisRequest
from ..rows import as_utc
from .base import StoreBase, as_uuid, utc_now

Request = MediaAnalysisRequest


class Retention(StoreBase):
    """What the retention job looks for and deletes."""

    def find_expired(
        self,
        retention: Mapping[str, timedelta],
        *,
        limit: int,
        now: datetime | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Requests older than their status's retention, oldest first.

        ``offset`` pages past rows a caller keeps (a dry run deletes nothing, so it pages).
        """
        now = now or utc_now()
        conds = [
            (Request.status == status) & (Request.created_at < now - age)
            for status, age in retention.items()
        ]
        if not conds:
            return []
        stmt = (
            select(Request.request_id, Request.status, Request.created_at)
            .where(or_(*conds))
            .order_by(Request.created_at, Request.request_id)
            .limit(limit)
            .offset(offset)
        )
        with self.session() as s:
            return [
                {"request_id": str(r), "status": st, "created_at": as_utc(c)}
                for r, st, c in s.execute(stmt)
            ]

    def delete_requests(self, request_ids: Iterable[str | uuid.UUID]) -> int:
        """Delete requests; their child rows cascade in the database."""
        ids = [as_uuid(r) for r in request_ids]
        if not ids:
            return 0
        with self.session() as s, s.begin():
            result = s.execute(delete(Request).where(Request.request_id.in_(ids)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def find_stuck(
        self, started_before: datetime, *, limit: int, offset: int = 0
    ) -> list[dict[str, Any]]:
        """``processing`` rows claimed before ``started_before``, oldest first.

        These are only candidates: whether their Dagster run is still alive is the instance's
        to say, so the retention job checks each one before failing it. A row without
        ``started_at`` (inserted as processing by hand) counts from ``created_at``.
        """
        since = func.coalesce(Request.started_at, Request.created_at)
        stmt = (
            select(Request.request_id, Request.started_at, Request.created_at)
            .where(Request.status == "processing", since < started_before)
            .order_by(since, Request.request_id)
            .limit(limit)
            .offset(offset)
        )
        with self.session() as s:
            return [
                {"request_id": str(r), "started_at": as_utc(st), "created_at": as_utc(c)}
                for r, st, c in s.execute(stmt)
            ]
