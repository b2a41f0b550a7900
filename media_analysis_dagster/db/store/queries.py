"""Reads of request rows: one row with its children, statuses, lists and pages.

Lists are served by the seed's indexes (``idx_media_requests_status_created`` for a status in
creation order); rows come back as JSON-ready dicts (``rows.row_dict``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..models import MediaAnalysisRequest, MediaFile
from ..rows import as_utc, row_dict
from .base import StoreBase, as_uuid

Request = MediaAnalysisRequest


class RequestQueries(StoreBase):
    """What the sensors, the CLI and the ops read about requests."""

    def get_status(self, request_id: str | uuid.UUID) -> str | None:
        with self.session() as s:
            return s.scalar(select(Request.status).where(Request.request_id == as_uuid(request_id)))

    def statuses(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, str]:
        ids = [as_uuid(r) for r in request_ids]
        if not ids:
            return {}
        with self.session() as s:
            rows = s.execute(
                select(Request.request_id, Request.status).where(Request.request_id.in_(ids))
            ).all()
        return {str(r): st for r, st in rows}

    def get_request(
        self, request_id: str | uuid.UUID, *, with_children: bool = True
    ) -> dict[str, Any] | None:
        """The request row, plus ``results``, ``files`` and ``contact_sheets`` lists."""
        stmt = select(Request).where(Request.request_id == as_uuid(request_id))
        if with_children:
            stmt = stmt.options(
                selectinload(Request.results),
                selectinload(Request.files),
                selectinload(Request.contact_sheets),
            )
        with self.session() as s:
            row = s.scalar(stmt)
            if row is None:
                return None
            out = row_dict(row)
            if with_children:
                out["results"] = [row_dict(r) for r in row.results]
                out["files"] = [row_dict(f) for f in row.files]
                out["contact_sheets"] = [row_dict(c) for c in row.contact_sheets]
            return out

    def list_requests(
        self,
        *,
        status: str | None = None,
        media_type: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """Newest first, as the seed's ``/requests``; ``total`` counts all matches."""
        conds = []
        if status:
            conds.append(Request.status == status)
        if media_type:
            conds.append(Request.media_type == media_type)
        with self.session() as s:
            total = s.scalar(select(func.count()).select_from(Request).where(*conds)) or 0
            rows = s.scalars(
                select(Request)
                .where(*conds)
                .order_by(Request.created_at.desc(), Request.request_id)
                .limit(limit)
                .offset(offset)
            ).all()
        return {
            "requests": [row_dict(r) for r in rows],
            "count": len(rows),
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    def find_requests(
        self, status: str, *, limit: int, offset: int = 0, older_than: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Rows of one status, oldest first (served by ``idx_media_requests_status_created``)."""
        stmt = select(Request).where(Request.status == status)
        if older_than is not None:
            stmt = stmt.where(Request.created_at < older_than)
        stmt = stmt.order_by(Request.created_at, Request.request_id).limit(limit).offset(offset)
        with self.session() as s:
            return [row_dict(r) for r in s.scalars(stmt).all()]

    def pending_page(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Pending rows oldest first, only what the launching sensor decides on.

        Same order and index as ``find_requests("pending")`` without the JSON columns, because
        the sensor scans many rows per tick; times come back as aware datetimes so they compare with
        Dagster's run timestamps.
        """
        stmt = (
            select(Request.request_id, Request.media_type, Request.created_at, Request.completed_at)
            .where(Request.status == "pending")
            .order_by(Request.created_at, Request.request_id)
            .limit(limit)
            .offset(offset)
        )
        with self.session() as s:
            return [
                {
                    "request_id": str(r),
                    "media_type": mt,
                    "created_at": as_utc(c),
                    "completed_at": as_utc(done),
                }
                for r, mt, c, done in s.execute(stmt)
            ]

    def report_files(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, dict[str, Any]]:
        """Each request's stored HTML report (the ``media_files`` row ``complete_request`` wrote:
        ``processed``, ``text/html``), by request id; requests without one are left out."""
        ids = list({as_uuid(r) for r in request_ids})
        if not ids:
            return {}
        stmt = select(MediaFile).where(
            MediaFile.request_id.in_(ids),
            MediaFile.file_type == "processed",
            MediaFile.mime_type == "text/html",
        )
        with self.session() as s:
            return {str(f.request_id): row_dict(f) for f in s.scalars(stmt).all()}
