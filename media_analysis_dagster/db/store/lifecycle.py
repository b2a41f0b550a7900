"""Writes that move a request through its lifecycle: pending → processing → an end.

Status changes are conditional (``… WHERE status IN (…)``, or the row locked and checked), so two
actors that race for a row (a run and the cancellation sensor, two runs for one request) cannot
both win: the loser gets ``None``/``False`` back and leaves the row alone. Each is one
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, update

from ..models import MediaAnalysisBudget, MediaAnalysisRequest
from ..rows import as_utc, row_dict
from .base import ACTIVE, StoreBase, as_uuid, utc_now

Request = MediaAnalysisRequest


class RequestLifecycle(StoreBase):
    """Create, claim, complete, fail or cancel a request row."""

    def create_request(
        self,
        *,
        media_type: str = "auto",
        media_url: str | None = None,
        media_path: str | None = None,
        prompt: str | None = None,
        user_metadata: Mapping[str, Any] | None = None,
        created_by: str | None = None,
        source_endpoint: str | None = None,
        status: str = "pending",
        request_id: str | uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """Insert a request (``pending`` for the sensor, ``processing`` for a direct run)."""
        now = utc_now()
        row = Request(
            request_id=as_uuid(request_id) if request_id else uuid.uuid4(),
            media_type=media_type,
            status=status,
            prompt=prompt,
            media_url=media_url,
            media_path=media_path,
            user_metadata=dict(user_metadata or {}),
            created_by=created_by,
            source_endpoint=source_endpoint,
            created_at=now,
            started_at=now if status == "processing" else None,
        )
        with self.session() as s, s.begin():
            s.add(row)
        return row_dict(row)

    def claim_request(
        self, request_id: str | uuid.UUID, *, from_statuses: Sequence[str] = ("pending",)
    ) -> dict[str, Any] | None:
        """``pending`` → ``processing`` atomically; ``None`` if the row was not pending.

        A re-executed run may also reopen its own ``failed`` row (``from_statuses``).
        """
        stmt = (
            update(Request)
            .where(Request.request_id == as_uuid(request_id), Request.status.in_(from_statuses))
            .values(
                status="processing",
                started_at=utc_now(),
                completed_at=None,
                processing_time_ms=None,
                error_message=None,
                error_details=None,
            )
            .returning(Request)
        )
        with self.session() as s, s.begin():
            row = s.execute(stmt).scalar_one_or_none()
            return row_dict(row) if row else None

    def set_media_type(self, request_id: str | uuid.UUID, media_type: str) -> None:
        with self.session() as s, s.begin():
            s.execute(
                update(Request)
                .where(Request.request_id == as_uuid(request_id))
                .values(media_type=media_type)
            )

    def complete_request(
        self,
        request_id: str | uuid.UUID,
        *,
        confidence_score: float | None,
        provider_chain: list[dict[str, Any]],
        api_costs: dict[str, Any],
        error_details: dict[str, Any] | None = None,
    ) -> bool:
        """``processing`` → ``completed``; ``processing_time_ms`` runs from the claim."""
        with self.session() as s, s.begin():
            row = s.get(Request, as_uuid(request_id), with_for_update=True)
            if row is None or row.status != "processing":
                return False
            now = utc_now()
            started = as_utc(row.started_at) or now
            row.status = "completed"
            row.completed_at = now
            row.processing_time_ms = int((now - started).total_seconds() * 1000)
            row.confidence_score = confidence_score  # type: ignore[assignment]
            row.provider_chain = provider_chain
            row.api_costs = api_costs
            row.error_message = None
            row.error_details = error_details
            # The budget ledger ends with the run (``ledger``): a late settle finds none.
            s.execute(
                delete(MediaAnalysisBudget).where(MediaAnalysisBudget.request_id == row.request_id)
            )
            return True

    def end_request(
        self,
        request_id: str | uuid.UUID,
        status: str,
        message: str,
        details: Mapping[str, Any],
        *,
        from_statuses: Sequence[str] = ACTIVE,
        provider_chain: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Mark ``failed`` or ``cancelled`` with a reason, only from ``from_statuses``."""
        if status not in ("failed", "cancelled"):
            raise ValueError(f"end_request cannot set status {status!r}")
        with self.session() as s, s.begin():
            row = s.get(Request, as_uuid(request_id), with_for_update=True)
            if row is None or row.status not in from_statuses:
                return False
            now = utc_now()
            row.status = status
            row.completed_at = now
            if row.started_at is not None:
                row.processing_time_ms = int((now - as_utc(row.started_at)).total_seconds() * 1000)  # type: ignore[operator]
            row.error_message = message
            row.error_details = dict(details)
            if provider_chain is not None:
                row.provider_chain = provider_chain
            return True

    def fail_request(
        self, request_id: str | uuid.UUID, message: str, details: Mapping[str, Any], **kwargs: Any
    ) -> bool:
        return self.end_request(request_id, "failed", message, details, **kwargs)

    def note_cancelled(
        self, request_id: str | uuid.UUID, message: str, details: Mapping[str, Any]
    ) -> bool:
        """Finish a row that was set to ``cancelled`` by a plain ``UPDATE``.

        Such a row has no ``completed_at`` and no reason. Filling them in (never overwriting)
        keeps the row readable and tells the launching sensor when the episode ended, so a later
        re-pend is recognised as a new one. Rows cancelled through ``end_request`` are left
        alone.
        """
        with self.session() as s, s.begin():
            row = s.get(Request, as_uuid(request_id), with_for_update=True)
            if row is None or row.status != "cancelled" or row.completed_at is not None:
                return False
            row.completed_at = utc_now()
            if row.error_message is None:
                row.error_message = message
            if row.error_details is None:
                row.error_details = dict(details)
            return True
