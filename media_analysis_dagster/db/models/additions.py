"""Models of the tables ``schema/002_additions.sql`` adds beside the seed's four.

They hold what is ours, not n8n's: the budget ledger of a running request (so ``api_costs``,
which n8n reads, never shows bookkeeping) and the outbox of completion callbacks (so a slow
receiver holds no run and no sensor tick). Both go with their request (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Index, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..constants import CALLBACK_STATUSES
from ..safe_types import SafeInteger, SafeNumeric, SafeString, SafeText
from .base import NEW_UUID, NOW, Base, JsonB, check_in, request_fk

# Twelve decimals, as the ledger always rounded: a cheap call's cost is far below a cent.
Usd = SafeNumeric(20, 12, nullable=False)


class MediaAnalysisBudget(Base):
    """One row per request whose paid calls reserved part of its cap (``Store.reserve_usd``)."""

    __tablename__ = "media_analysis_budget"

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(__tablename__), primary_key=True)
    spent_usd: Mapped[Decimal] = mapped_column(Usd, nullable=False, server_default=text("0"))
    reserved_usd: Mapped[Decimal] = mapped_column(Usd, nullable=False, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=NOW
    )


class MediaAnalysisCallback(Base):
    """One completion callback to deliver (``pending``), done (``delivered``) or given up."""

    __tablename__ = "media_analysis_callbacks"
    __table_args__ = (
        UniqueConstraint("delivery_id", name=f"{__tablename__}_delivery_id_key"),
        check_in(__tablename__, "status", CALLBACK_STATUSES),
        Index("idx_callbacks_status_next_attempt", "status", "next_attempt_at"),
        Index("idx_callbacks_request_id", "request_id"),
    )

    callback_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(__tablename__), nullable=False)
    delivery_id: Mapped[str] = mapped_column(SafeString(200), nullable=False)
    url: Mapped[str] = mapped_column(SafeText, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, nullable=False)
    status: Mapped[str] = mapped_column(
        SafeString(20), nullable=False, server_default=text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(
        SafeInteger(nullable=False), nullable=False, server_default=text("0")
    )
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=NOW
    )
    last_status_code: Mapped[int | None] = mapped_column(SafeInteger)
    last_error: Mapped[str | None] = mapped_column(SafeText)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=NOW
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
