"""The budget ledger: a request's cost cap, shared by every call of every run of the request.

The ``analyze`` steps of one request run at the same time on threads of a run worker, and a
re-executed run (another process, maybe another machine) works on the same request, so a call
first reserves the most it can cost (``reserve_usd``) and afterwards replaces the reservation by
what it cost (``settle_usd``). The ledger is a row of ``media_analysis_budget``
(``schema/002_additions.sql``), not keys of the request's ``api_costs``, which n8n reads:
``spent_usd``, the actual cost of the calls made, starting from the stored results' cost, and
``reserved_usd``, what calls in flight may still cost. ``complete_request`` drops the row.

Each reservation and settlement is one transaction with the request row locked, so threads and
processes working on one request take turns and two calls cannot both take the last room:
``SELECT … FOR NO KEY UPDATE`` on PostgreSQL (it does not block result inserts, whose foreign
key takes only a KEY SHARE lock), ``BEGIN IMMEDIATE`` on SQLite.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..models import MediaAnalysisBudget, MediaAnalysisRequest, MediaAnalysisResult
from .base import StoreBase, as_uuid, utc_now

Budget = MediaAnalysisBudget


def _request_locked(conn: Connection, rid: uuid.UUID) -> bool:
    """Lock the request row for this transaction; ``False`` if there is none."""
    found = conn.execute(
        select(MediaAnalysisRequest.request_id)
        .where(MediaAnalysisRequest.request_id == rid)
        .with_for_update(key_share=True)
    ).first()
    return found is not None


def _stored_cost(conn: Connection, rid: uuid.UUID) -> float:
    total = conn.scalar(
        select(func.coalesce(func.sum(MediaAnalysisResult.cost_usd), 0)).where(
            MediaAnalysisResult.request_id == rid
        )
    )
    return float(total or 0)


def _ledger(conn: Connection, rid: uuid.UUID) -> tuple[float, float] | None:
    """``(spent, reserved)`` of the request's ledger, ``None`` if it has none."""
    row = conn.execute(
        select(Budget.spent_usd, Budget.reserved_usd).where(Budget.request_id == rid)
    ).first()
    return None if row is None else (float(row[0]), float(row[1]))


class BudgetLedger(StoreBase):
    """Reserve and settle parts of a request's cost cap."""

    def spent_usd(self, request_id: str | uuid.UUID) -> float:
        """What the request's stored results cost so far (the budget cap counts from this)."""
        with self.engine.connect() as conn:
            return _stored_cost(conn, as_uuid(request_id))

    def reserve_usd(
        self, request_id: str | uuid.UUID, amount_usd: float, cap_usd: float
    ) -> tuple[bool, float, float]:
        """Hold ``amount_usd`` of the request's cap for one call, if spent + held + amount fits.

        Returns ``(granted, spent_usd, reserved_usd)`` as they were before; ``(False, 0.0, 0.0)``
        for a request that does not exist. The ledger is created by the first granted
        reservation, its spent part starting from the stored results' cost.
        """
        amount = max(0.0, float(amount_usd))
        rid = as_uuid(request_id)
        with self.write_transaction() as conn:
            if not _request_locked(conn, rid):
                return False, 0.0, 0.0
            ledger = _ledger(conn, rid)
            spent, held = ledger if ledger is not None else (_stored_cost(conn, rid), 0.0)
            if spent + held + amount > cap_usd + 1e-12:
                return False, spent, held
            values = dict(
                spent_usd=round(spent, 12),
                reserved_usd=round(held + amount, 12),
                updated_at=utc_now(),
            )
            if ledger is None:
                conn.execute(insert(Budget).values(request_id=rid, **values))
            else:
                conn.execute(update(Budget).where(Budget.request_id == rid).values(**values))
            return True, spent, held

    def settle_usd(
        self, request_id: str | uuid.UUID, reserved_usd: float, actual_usd: float
    ) -> None:
        """Replace a reservation by what the call cost (0.0 when it failed).

        A request whose ledger is gone (completed meanwhile) is left alone.
        """
        rid = as_uuid(request_id)
        with self.write_transaction() as conn:
            if not _request_locked(conn, rid) or (ledger := _ledger(conn, rid)) is None:
                return
            spent, held = ledger
            conn.execute(
                update(Budget)
                .where(Budget.request_id == rid)
                .values(
                    spent_usd=round(spent + max(0.0, float(actual_usd)), 12),
                    reserved_usd=round(max(0.0, held - max(0.0, float(reserved_usd))), 12),
                    updated_at=utc_now(),
                )
            )

    def budget_of(self, request_id: str | uuid.UUID) -> dict[str, Any] | None:
        """``{"spent_usd", "reserved_usd"}`` of the request's ledger, ``None`` if it has none
        (no call reserved yet, or the request completed)."""
        with self.engine.connect() as conn:
            ledger = _ledger(conn, as_uuid(request_id))
        return None if ledger is None else {"spent_usd": ledger[0], "reserved_usd": ledger[1]}
