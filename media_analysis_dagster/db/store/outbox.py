"""The callback outbox: completion callbacks are queued rows, delivered apart from the pipeline.

A run that ends records its callback (``enqueue_callback``) and is done; a sensor tick claims the
due ones (``claim_due_callbacks``), posts them and records each attempt
(``record_callback_attempt``). So a slow or dead receiver holds no run slot and no tick, and a
callback survives a crash between the end of a run and its delivery (at least once; the
``delivery_id`` lets the receiver drop a repeat).

Claiming is a lease: the claimed rows' ``next_attempt_at`` moves ``lease_s`` ahead in the same
transaction, so two claimers (two ticks, two processes) never get the same row, and a claimer
that dies leaves its rows to be claimed again when the lease runs out. PostgreSQL skips rows
another claimer holds (``FOR UPDATE SKIP LOCKED``); SQLite has one writer at a time
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..models import MediaAnalysisCallback
from ..rows import as_utc, row_dict
from .base import StoreBase, as_uuid, utc_now

Callback = MediaAnalysisCallback


class CallbackOutbox(StoreBase):
    """Queue, claim and record completion callbacks."""

    def enqueue_callback(
        self,
        request_id: str | uuid.UUID,
        delivery_id: str,
        url: str,
        payload: Mapping[str, Any],
    ) -> bool:
        """Queue one callback, due now; ``False`` if ``delivery_id`` is queued already.

        The existing row is left as it is: the same end of a request recorded twice (a retried
        step, a re-executed run) is one delivery.
        """
        now = utc_now()
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(Callback)
            .values(
                callback_id=uuid.uuid4(),
                request_id=as_uuid(request_id),
                delivery_id=delivery_id,
                url=url,
                payload=dict(payload),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["delivery_id"])
            .returning(Callback.callback_id)
        )
        with self.engine.begin() as conn:
            return conn.execute(stmt).first() is not None

    def claim_due_callbacks(
        self, limit: int, lease_s: float, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` pending callbacks due by ``now``, oldest first, leased for ``lease_s``.

        Each comes as ``{callback_id, request_id, delivery_id, url, payload, attempts}``
        (``attempts``: those made before this one).
        """
        now = as_utc(now) or utc_now()
        due = (
            select(Callback)
            .where(Callback.status == "pending", Callback.next_attempt_at <= now)
            .order_by(Callback.created_at, Callback.callback_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self.write_transaction() as conn:
            rows = conn.execute(due).all()
            if rows:
                conn.execute(
                    update(Callback)
                    .where(Callback.callback_id.in_([r.callback_id for r in rows]))
                    .values(next_attempt_at=now + timedelta(seconds=lease_s))
                )
        return [
            {
                "callback_id": str(r.callback_id),
                "request_id": str(r.request_id),
                "delivery_id": r.delivery_id,
                "url": r.url,
                "payload": r.payload,
                "attempts": r.attempts,
            }
            for r in rows
        ]

    def record_callback_attempt(
        self,
        callback_id: str | uuid.UUID,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
    ) -> None:
        """Count one attempt: ``delivered``; else retried at ``next_attempt_at``, or, with no
        next time, ``failed`` (given up).

        Only a pending row changes: an attempt that ends after another claimer has already
        delivered the callback (its lease ran out) does not make it pending again.
        """
        now = utc_now()
        values: dict[str, Any] = {
            "attempts": Callback.attempts + 1,
            "last_status_code": status_code,
            "last_error": error,
        }
        if delivered:
            values.update(status="delivered", delivered_at=now)
        elif next_attempt_at is None:
            values.update(status="failed")
        else:
            values.update(next_attempt_at=as_utc(next_attempt_at))
        with self.engine.begin() as conn:
            conn.execute(
                update(Callback)
                .where(Callback.callback_id == as_uuid(callback_id), Callback.status == "pending")
                .values(**values)
            )

    def callbacks_of(self, request_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """Every callback queued for the request, oldest first, as JSON-ready dicts."""
        with self.session() as s:
            rows = s.scalars(
                select(Callback)
                .where(Callback.request_id == as_uuid(request_id))
                .order_by(Callback.created_at, Callback.callback_id)
            ).all()
            return [row_dict(r) for r in rows]
