"""Every query of the four tables lives here.

Status changes are conditional updates (``… WHERE status IN (…)``), so two actors that race for a
row (a run and the cancellation sensor, two runs for one request) cannot both win: the loser
gets ``None``/``False`` back and leaves the row alone. Each multi-row write is one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from .models import (
    ContactSheet,
    MediaAnalysisRequest,
    MediaAnalysisResult,
    MediaFile,
)
from .rows import NewFile, NewResult, NewSheet, as_utc, row_dict

Request = MediaAnalysisRequest
ACTIVE = ("pending", "processing")


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """The data layer: a thin, typed set of queries over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- requests -------------------------------------------------------------------------
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
        now = _now()
        row = Request(
            request_id=_uuid(request_id) if request_id else uuid.uuid4(),
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
            .where(Request.request_id == _uuid(request_id), Request.status.in_(from_statuses))
            .values(
                status="processing",
                started_at=_now(),
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
                .where(Request.request_id == _uuid(request_id))
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
            row = s.get(Request, _uuid(request_id), with_for_update=True)
            if row is None or row.status != "processing":
                return False
            now = _now()
            started = as_utc(row.started_at) or now
            row.status = "completed"
            row.completed_at = now
            row.processing_time_ms = int((now - started).total_seconds() * 1000)
            row.confidence_score = confidence_score  # type: ignore[assignment]
            row.provider_chain = provider_chain
            row.api_costs = api_costs
            row.error_message = None
            row.error_details = error_details
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
            row = s.get(Request, _uuid(request_id), with_for_update=True)
            if row is None or row.status not in from_statuses:
                return False
            now = _now()
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

    def get_status(self, request_id: str | uuid.UUID) -> str | None:
        with self.session() as s:
            return s.scalar(select(Request.status).where(Request.request_id == _uuid(request_id)))

    def statuses(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, str]:
        ids = [_uuid(r) for r in request_ids]
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
        stmt = select(Request).where(Request.request_id == _uuid(request_id))
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
            row = s.get(Request, _uuid(request_id), with_for_update=True)
            if row is None or row.status != "cancelled" or row.completed_at is not None:
                return False
            row.completed_at = _now()
            if row.error_message is None:
                row.error_message = message
            if row.error_details is None:
                row.error_details = dict(details)
            return True

    # -- children -------------------------------------------------------------------------
    def replace_rows(
        self,
        request_id: str | uuid.UUID,
        *,
        file_types: Sequence[str] = (),
        result_types: Sequence[str] = (),
        result_tasks: Sequence[str] = (),
        replace_sheets: bool = False,
        files: Sequence[NewFile] = (),
        results: Sequence[NewResult] = (),
        sheets: Sequence[NewSheet] = (),
    ) -> dict[str, list[str]]:
        """Delete a step's earlier rows and insert its new ones in one transaction.

        Files are matched by ``file_type``; results by ``result_type`` or by the analysis task
        that wrote them (``metadata.task``, set by the ``analyze`` step).

        This is what makes re-executing a step (from the UI, or a retried step) replace its
        rows instead of duplicating them.
        """
        rid = _uuid(request_id)
        with self.session() as s, s.begin():
            if replace_sheets:
                s.execute(delete(ContactSheet).where(ContactSheet.request_id == rid))
            if file_types:
                s.execute(
                    delete(MediaFile).where(
                        MediaFile.request_id == rid, MediaFile.file_type.in_(file_types)
                    )
                )
            if result_types:
                s.execute(
                    delete(MediaAnalysisResult).where(
                        MediaAnalysisResult.request_id == rid,
                        MediaAnalysisResult.result_type.in_(result_types),
                    )
                )
            if result_tasks:
                s.execute(
                    delete(MediaAnalysisResult).where(
                        MediaAnalysisResult.request_id == rid,
                        MediaAnalysisResult.metadata_["task"].as_string().in_(result_tasks),
                    )
                )
            file_rows = [
                MediaFile(file_id=uuid.uuid4(), request_id=rid, **asdict(f)) for f in files
            ]
            s.add_all(file_rows)
            result_rows = []
            for r in results:
                data = asdict(r)
                result_rows.append(
                    MediaAnalysisResult(
                        result_id=uuid.uuid4(),
                        request_id=rid,
                        metadata_=data.pop("metadata"),
                        **data,
                    )
                )
            s.add_all(result_rows)
            s.flush()
            sheet_rows = []
            for sh in sheets:
                data = asdict(sh)
                index = data.pop("file_index")
                file_id = file_rows[index].file_id if index is not None else None
                sheet_rows.append(
                    ContactSheet(
                        contact_sheet_id=uuid.uuid4(), request_id=rid, file_id=file_id, **data
                    )
                )
            s.add_all(sheet_rows)
        return {
            "files": [str(f.file_id) for f in file_rows],
            "results": [str(r.result_id) for r in result_rows],
            "contact_sheets": [str(c.contact_sheet_id) for c in sheet_rows],
        }

    def results(self, request_id: str | uuid.UUID) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(
                select(MediaAnalysisResult)
                .where(MediaAnalysisResult.request_id == _uuid(request_id))
                .order_by(MediaAnalysisResult.created_at, MediaAnalysisResult.result_type)
            ).all()
            return [row_dict(r) for r in rows]

    def cached_results(
        self,
        *,
        checksum: str,
        result_type: str,
        cache_key: str,
        providers: Sequence[str],
        max_age_s: float,
        exclude_request_id: str | uuid.UUID | None = None,
    ) -> list[dict[str, Any]]:
        """The result rows an earlier *completed* request stored under ``cache_key`` (``metadata``
        of the row), newest request first, for the analysis cache (``ops/cache.py``).

        Only rows younger than ``max_age_s``, from one of ``providers``, of a request whose
        original has ``checksum``, and not themselves cache copies (so age counts from the call
        that was paid for). The key is matched here rather than in SQL so the query is the same
        on PostgreSQL and SQLite. All rows of the newest matching request are returned.
        """
        since = _now() - timedelta(seconds=max_age_s)
        originals = select(MediaFile.request_id).where(
            MediaFile.file_type == "original", MediaFile.checksum == checksum
        )
        query = (
            select(MediaAnalysisResult)
            .join(Request, Request.request_id == MediaAnalysisResult.request_id)
            .where(
                Request.status == "completed",
                MediaAnalysisResult.request_id.in_(originals),
                MediaAnalysisResult.result_type == result_type,
                MediaAnalysisResult.provider.in_(list(providers)),
                MediaAnalysisResult.created_at >= since,
            )
            .order_by(MediaAnalysisResult.created_at.desc())
        )
        if exclude_request_id is not None:
            query = query.where(MediaAnalysisResult.request_id != _uuid(exclude_request_id))
        with self.session() as s:
            rows = [
                r
                for r in s.scalars(query).all()
                if (r.metadata_ or {}).get("cache_key") == cache_key
                and not (r.metadata_ or {}).get("cache_hit")
            ]
        if not rows:
            return []
        newest = rows[0].request_id
        return [row_dict(r) for r in reversed(rows) if r.request_id == newest]

    def spent_usd(self, request_id: str | uuid.UUID) -> float:
        """What the request's stored results cost so far (the budget cap counts from this)."""
        with self.session() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(MediaAnalysisResult.cost_usd), 0)).where(
                    MediaAnalysisResult.request_id == _uuid(request_id)
                )
            )
        return float(total or 0)

    # -- budget ledger --------------------------------------------------------------------
    def reserve_usd(
        self, request_id: str | uuid.UUID, amount_usd: float, cap_usd: float
    ) -> tuple[bool, float, float]:
        """Hold ``amount_usd`` of the request's cap for one call, if spent + held + amount fits.

        Returns ``(granted, spent_usd, reserved_usd)`` as they were before. The ledger is two
        keys of the row's ``api_costs`` (no new column): ``spent_usd``, the actual cost of the
        calls made, which starts from the stored results' cost, and ``reserved_usd``, what calls
        in flight may still cost. ``complete_request`` replaces ``api_costs`` and so drops them.
        Read and write are one transaction with the row locked, so threads and processes
        working on one request take turns here and two calls cannot both take the last room.
        """
        amount = max(0.0, float(amount_usd))

        def change(
            costs: dict[str, Any], spent: float, held: float
        ) -> tuple[dict[str, Any] | None, tuple[bool, float, float]]:
            granted = spent + held + amount <= cap_usd + 1e-12
            if granted:
                costs.update(spent_usd=round(spent, 12), reserved_usd=round(held + amount, 12))
                return costs, (True, spent, held)
            return None, (False, spent, held)

        answer = self._with_ledger(request_id, change, start=True)
        return answer if answer is not None else (False, 0.0, 0.0)

    def settle_usd(
        self, request_id: str | uuid.UUID, reserved_usd: float, actual_usd: float
    ) -> None:
        """Replace a reservation by what the call cost (0.0 when it failed).

        A request whose ledger is gone (completed meanwhile) is left alone.
        """

        def change(costs: dict[str, Any], spent: float, held: float) -> tuple[dict[str, Any], None]:
            costs.update(
                spent_usd=round(spent + max(0.0, float(actual_usd)), 12),
                reserved_usd=round(max(0.0, held - max(0.0, float(reserved_usd))), 12),
            )
            return costs, None

        self._with_ledger(request_id, change, start=False)

    def _with_ledger(
        self,
        request_id: str | uuid.UUID,
        change: Callable[[dict[str, Any], float, float], tuple[dict[str, Any] | None, Any]],
        *,
        start: bool,
    ) -> Any:
        """Run ``change(api_costs, spent, reserved) -> (new api_costs or None, answer)`` with
        the request row locked: ``SELECT … FOR NO KEY UPDATE`` on PostgreSQL (it does not block
        result inserts, whose foreign key only takes a KEY SHARE lock), ``BEGIN IMMEDIATE`` on
        SQLite (one writer at a time; the others wait out the busy timeout)."""
        rid = _uuid(request_id)
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            row = conn.execute(
                select(Request.api_costs)
                .where(Request.request_id == rid)
                .with_for_update(key_share=True)
            ).first()
            costs = dict(row[0]) if row is not None and isinstance(row[0], dict) else {}
            spent, held = costs.get("spent_usd"), costs.get("reserved_usd")
            if row is None or (not start and not isinstance(spent, int | float)):
                conn.rollback()
                return None
            if not isinstance(spent, int | float):
                spent = conn.scalar(
                    select(func.coalesce(func.sum(MediaAnalysisResult.cost_usd), 0)).where(
                        MediaAnalysisResult.request_id == rid
                    )
                )
            held = held if isinstance(held, int | float) else 0.0
            new_costs, answer = change(costs, float(spent or 0), float(held))
            if new_costs is not None:
                conn.execute(
                    update(Request).where(Request.request_id == rid).values(api_costs=new_costs)
                )
            conn.commit()
            return answer

    def file_paths(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, list[str]]:
        ids = [_uuid(r) for r in request_ids]
        out: dict[str, list[str]] = {str(r): [] for r in ids}
        if not ids:
            return out
        with self.session() as s:
            for rid, path in s.execute(
                select(MediaFile.request_id, MediaFile.file_path).where(
                    MediaFile.request_id.in_(ids)
                )
            ):
                out[str(rid)].append(path)
        return out

    # -- retention ------------------------------------------------------------------------
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
        now = now or _now()
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
        """Delete requests; results, files and contact sheets cascade in the database."""
        ids = [_uuid(r) for r in request_ids]
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
