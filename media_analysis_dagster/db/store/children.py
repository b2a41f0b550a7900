"""A request's child rows: results, files and contact sheets, and the segments search indexes.

A step writes its rows with ``replace_rows`` (its earlier rows go in the same transaction), so a
re-executed step replaces rather than duplicates; ``cached_results`` finds what an earlier
request already paid for. The searchable segments of every result written (``db/segments.py``)
go in the same transaction, and the earlier ones go with the rows they came from (``ON DELETE
CASCADE``), so search never shows a result that is not there or misses one that is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import ContactSheet, MediaAnalysisRequest, MediaAnalysisResult, MediaFile
from ..rows import NewFile, NewResult, NewSheet, row_dict
from ..segments import NewSegment
from .base import StoreBase, as_uuid, utc_now
from .search import write_segments

Request = MediaAnalysisRequest


class ChildRows(StoreBase):
    """Write and read the rows a request's steps produce."""

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
        segments: Sequence[NewSegment] = (),
    ) -> dict[str, list[str]]:
        """Delete a step's earlier rows and insert its new ones in one transaction.

        Files are matched by ``file_type``; results by ``result_type`` or by the analysis task
        that wrote them (``metadata.task``, set by the ``analyze`` step). Each new result's
        segments are derived and written with it; ``segments`` are ready-made ones of a file of
        this call (``file_index``: a document's pages).

        This is what makes re-executing a step (from the UI, or a retried step) replace its
        rows instead of duplicating them.
        """
        rid = as_uuid(request_id)
        with self.session() as s, s.begin():
            _delete_replaced(s, rid, file_types, result_types, result_tasks, replace_sheets)
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
            write_segments(
                s,
                rid,
                [(r.result_id, r.result_type, r.content, r.content_json) for r in result_rows],
                segments,
                [f.file_id for f in file_rows],
            )
        return {
            "files": [str(f.file_id) for f in file_rows],
            "results": [str(r.result_id) for r in result_rows],
            "contact_sheets": [str(c.contact_sheet_id) for c in sheet_rows],
        }

    def results(self, request_id: str | uuid.UUID) -> list[dict[str, Any]]:
        with self.session() as s:
            rows = s.scalars(
                select(MediaAnalysisResult)
                .where(MediaAnalysisResult.request_id == as_uuid(request_id))
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
        since = utc_now() - timedelta(seconds=max_age_s)
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
            query = query.where(MediaAnalysisResult.request_id != as_uuid(exclude_request_id))
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

    def file_paths(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, list[str]]:
        ids = [as_uuid(r) for r in request_ids]
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


def _delete_replaced(
    s: Session,
    rid: uuid.UUID,
    file_types: Sequence[str],
    result_types: Sequence[str],
    result_tasks: Sequence[str],
    replace_sheets: bool,
) -> None:
    """The rows a step writes anew; their segments go with them (``ON DELETE CASCADE``)."""
    if replace_sheets:
        s.execute(delete(ContactSheet).where(ContactSheet.request_id == rid))
    if file_types:
        mine = MediaFile.file_type.in_(file_types)
        s.execute(delete(MediaFile).where(MediaFile.request_id == rid, mine))
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
