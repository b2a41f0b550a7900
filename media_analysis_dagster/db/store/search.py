"""Search: writing a result's segments, finding the moments that match a query, reindexing.

PostgreSQL answers with ``media_analysis_search`` (``schema/003_search.sql``), so the CLI, n8n
and ``psql`` get the same rows from one definition. SQLite answers from its FTS5 table
(``db/schema.py``) with ``bm25()`` and ``snippet()``, the query turned into an FTS5 expression by
``db/search_query.py`` (stemmed there, every term quoted). Both take websearch-style queries:
words (all must match), ``"a phrase"``, ``-excluded``, ``or``; nothing a user types reaches the
database as an error (``search_query.clean_query``, ``clamp_hits``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    Connection,
    DateTime,
    Text,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from ..models import MediaAnalysisRequest, MediaAnalysisResult, MediaAnalysisSegment, MediaFile
from ..schema import FTS_TABLE
from ..search_query import DEFAULT_HITS, MARKS, clamp_hits, clean_query, fts_expression
from ..segments import NewSegment, document_pages, page_segments, result_segments
from .base import StoreBase, as_uuid

Request, Result, Segment = MediaAnalysisRequest, MediaAnalysisResult, MediaAnalysisSegment


def media_name(media_path: str | None, media_url: str | None) -> str:
    """The file name, or the URL's host and path (as the CLI and ``media_analysis_search``)."""
    if media_path:
        return PurePosixPath(media_path).name or media_path
    if not media_url:
        return "-"
    try:
        parts = urlsplit(media_url)
        host = parts.hostname
    except ValueError:
        return media_url
    return f"{host}{parts.path}" if host else media_url


def anchor(kind: str, start_s: float | None, page: int | None) -> str | None:
    """The fragment of a place in the request's HTML report (``report/``): ``say-t=12.5`` for a
    transcript line, ``t=12.5`` for the scene starting then, ``page-3``; milliseconds at most."""
    if start_s is not None:
        prefix = "say-t=" if kind == "transcript" else "t="
        return prefix + f"{max(start_s, 0.0):.3f}".rstrip("0").rstrip(".")
    return f"page-{page}" if page is not None else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _segment_values(
    request_id: uuid.UUID,
    segments: Iterable[NewSegment],
    *,
    result_id: uuid.UUID | None = None,
    file_ids: Sequence[uuid.UUID] = (),
) -> list[dict[str, Any]]:
    out = []
    for seg in segments:
        file_id = file_ids[seg.file_index] if seg.file_index is not None else None
        if result_id is None and file_id is None:
            raise ValueError("a segment needs its result or its file (file_index)")
        out.append(
            {
                "request_id": request_id,
                "result_id": result_id if file_id is None else None,
                "file_id": file_id,
                "kind": seg.kind,
                "position": seg.position,
                "start_s": seg.start_s,
                "end_s": seg.end_s,
                "page": seg.page,
                "language": seg.language,
                "text": seg.text,
            }
        )
    return out


def write_segments(
    s: Session,
    request_id: uuid.UUID,
    results: Iterable[tuple[uuid.UUID, str, str | None, Any]],
    prepared: Sequence[NewSegment] = (),
    file_ids: Sequence[uuid.UUID] = (),
) -> int:
    """Insert the segments of ``results`` (``(result_id, result_type, content, content_json)``)
    and the ``prepared`` ones, in the caller's transaction; returns how many."""
    values = _segment_values(request_id, prepared, file_ids=file_ids)
    for result_id, result_type, content, content_json in results:
        found = result_segments(result_type, content, content_json)
        values += _segment_values(request_id, found, result_id=result_id)
    if values:
        s.execute(insert(Segment), values)
    return len(values)


class SegmentSearch(StoreBase):
    """Segments of results and documents, and the search over them."""

    def replace_segments(
        self,
        request_id: str | uuid.UUID,
        segments: Sequence[NewSegment],
        *,
        result_id: str | uuid.UUID | None = None,
        file_id: str | uuid.UUID | None = None,
    ) -> int:
        """Replace the segments of one result or one file with ``segments`` (one transaction)."""
        rid = as_uuid(request_id)
        source = as_uuid(result_id) if result_id is not None else None
        file_ids = [as_uuid(file_id)] if file_id is not None else []
        if (source is None) == (not file_ids):
            raise ValueError("give exactly one of result_id and file_id")
        prepared = [NewSegment(**{**vars(seg), "file_index": 0}) for seg in segments]
        with self.session() as s, s.begin():
            if source is not None:
                s.execute(delete(Segment).where(Segment.result_id == source))
                values = _segment_values(rid, segments, result_id=source)
            else:
                s.execute(delete(Segment).where(Segment.file_id == file_ids[0]))
                values = _segment_values(rid, prepared, file_ids=file_ids)
            if values:
                s.execute(insert(Segment), values)
        return len(values)

    def segments_of(self, request_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """A request's segments in order (what search indexes)."""
        cols = [c for c in Segment.__table__.columns if c.name != "tsv"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*cols)
                .where(Segment.request_id == as_uuid(request_id))
                .order_by(Segment.result_id, Segment.file_id, Segment.position)
            ).mappings()
            return [
                {**r, "start_s": _number(r["start_s"]), "end_s": _number(r["end_s"])} for r in rows
            ]

    def search(
        self,
        query: Any,
        *,
        limit: Any = DEFAULT_HITS,
        kind: str | None = None,
        media_type: str | None = None,
        since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The best ``limit`` hits for ``query``: ``request_id``, ``media_name``, ``media_type``,
        ``kind``, ``start_s``/``end_s``, ``page``, ``language``, ``rank`` (higher is better),
        ``snippet`` (matched words between ``MARKS``), ``anchor``, ``result_id``, ``segment_id``."""
        q, n = clean_query(query), clamp_hits(limit)
        if not q:
            return []
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                return self._search_postgresql(conn, q, n, kind, media_type, since)
            return self._search_sqlite(conn, q, n, kind, media_type, since)

    @staticmethod
    def _search_postgresql(
        conn: Connection,
        q: str,
        n: int,
        kind: str | None,
        media_type: str | None,
        since: datetime | None,
    ) -> list[dict[str, Any]]:
        stmt = text(
            "SELECT * FROM media_analysis_search(:q, :n, CAST(:kind AS text), "
            "CAST(:media_type AS text), CAST(:since AS timestamptz))"
        ).bindparams(bindparam("since", type_=DateTime(timezone=True)))
        rows = conn.execute(
            stmt, {"q": q, "n": n, "kind": kind, "media_type": media_type, "since": since}
        ).mappings()
        return [_hit(dict(r), r["snippet"], float(r["rank"])) for r in rows]

    @staticmethod
    def _search_sqlite(
        conn: Connection,
        q: str,
        n: int,
        kind: str | None,
        media_type: str | None,
        since: datetime | None,
    ) -> list[dict[str, Any]]:
        expression = fts_expression(q)
        if not expression:
            return []
        fts = table(FTS_TABLE, column("rowid"))
        match = literal_column(FTS_TABLE).op("MATCH")(bindparam("expr", expression, Text))
        score = func.bm25(literal_column(FTS_TABLE))
        # Rows are joined only for the filters asked for: most searches rank the index alone.
        source: Any = fts
        filters: list[Any] = [match]
        if kind is not None or media_type is not None or since is not None:
            source = source.join(Segment, Segment.segment_id == fts.c.rowid)
            if kind is not None:
                filters.append(Segment.kind == kind)
        if media_type is not None or since is not None:
            source = source.join(Request, Request.request_id == Segment.request_id)
            if media_type is not None:
                filters.append(Request.media_type == media_type)
            if since is not None:
                filters.append(Request.created_at >= since)
        top = conn.execute(
            select(fts.c.rowid, score)
            .select_from(source)
            .where(*filters)
            .order_by(score, fts.c.rowid)
            .limit(n)
        ).all()
        if not top:
            return []
        ids = [row[0] for row in top]
        snippet = func.snippet(literal_column(FTS_TABLE), 0, *MARKS, " … ", 24)
        snippets: dict[int, str] = {
            rowid: text
            for rowid, text in conn.execute(
                select(fts.c.rowid, snippet).where(match, fts.c.rowid.in_(ids))
            )
        }
        details = {
            r["segment_id"]: r
            for r in conn.execute(
                select(Segment, Request.media_type, Request.media_path, Request.media_url)
                .join(Request, Request.request_id == Segment.request_id)
                .where(Segment.segment_id.in_(ids))
            ).mappings()
        }
        return [
            _hit(
                {
                    **details[i],
                    "media_name": media_name(details[i]["media_path"], details[i]["media_url"]),
                },
                snippets.get(i) or "",
                -float(bm25),
            )
            for i, bm25 in top
        ]

    def reindex(
        self,
        *,
        batch_size: int = 500,
        read_document: Callable[[Mapping[str, Any]], str | None] | None = None,
    ) -> dict[str, int]:
        """Rebuild every segment from the results (and, with ``read_document``, from each
        document's stored text), in batches of ``batch_size`` rows, each its own transaction.

        For rows written before search existed, or after the way segments are cut changed;
        running it twice leaves the same segments. ``read_document`` gets a ``media_files`` row
        (``file_path``, ``storage_location``) and returns its text, or None to skip it.
        """
        counts = {"results": 0, "documents": 0, "segments": 0}
        after: uuid.UUID | None = None
        while True:
            with self.session() as s, s.begin():
                stmt = select(
                    Result.result_id,
                    Result.request_id,
                    Result.result_type,
                    Result.content,
                    Result.content_json,
                ).order_by(Result.result_id)
                if after is not None:
                    stmt = stmt.where(Result.result_id > after)
                rows = s.execute(stmt.limit(batch_size)).all()
                if not rows:
                    break
                s.execute(delete(Segment).where(Segment.result_id.in_([r[0] for r in rows])))
                for result_id, request_id, *shape in rows:
                    counts["segments"] += write_segments(s, request_id, [(result_id, *shape)])
            counts["results"] += len(rows)
            after = rows[-1][0]
        if read_document is not None:
            done, written = self._reindex_documents(read_document)
            counts["documents"] = done
            counts["segments"] += written
        return counts

    def _reindex_documents(
        self, read_document: Callable[[Mapping[str, Any]], str | None]
    ) -> tuple[int, int]:
        with self.engine.connect() as conn:
            files = (
                conn.execute(
                    select(MediaFile.file_id, MediaFile.request_id, MediaFile.file_path)
                    .add_columns(MediaFile.storage_location)
                    .where(MediaFile.file_type == "document")
                    .order_by(MediaFile.file_id)
                )
                .mappings()
                .all()
            )
        done = written = 0
        for file in files:
            content = read_document(dict(file))
            if content is None:
                continue
            facts = self._document_facts(file["request_id"])
            pages = page_segments(document_pages(content, facts))
            written += self.replace_segments(file["request_id"], pages, file_id=file["file_id"])
            done += 1
        return done, written

    def _document_facts(self, request_id: uuid.UUID) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(Result.content_json)
                .where(
                    Result.request_id == request_id,
                    Result.result_type == "metadata_extraction",
                )
                .limit(1)
            ).scalar()

    def frame_times(self, request_ids: Iterable[str | uuid.UUID]) -> dict[str, list[tuple]]:
        """Each request's frames as ``(seconds, media_files row)``, in time order: a frame's
        time is its number over the video's frame rate (``metadata_extraction``'s ``fps``)."""
        ids = list({as_uuid(r) for r in request_ids})
        out: dict[str, list[tuple]] = {str(r): [] for r in ids}
        if not ids:
            return out
        with self.engine.connect() as conn:
            facts = conn.execute(
                select(Result.request_id, Result.content_json).where(
                    Result.request_id.in_(ids), Result.result_type == "metadata_extraction"
                )
            ).all()
            rate = {rid: _fps(data) for rid, data in facts}
            frames = conn.execute(
                select(MediaFile).where(
                    MediaFile.request_id.in_(ids),
                    MediaFile.file_type == "frame",
                    MediaFile.frame_number.is_not(None),
                )
            ).mappings()
            for frame in frames:
                fps = rate.get(frame["request_id"])
                if fps:
                    row = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in frame.items()}
                    out[str(frame["request_id"])].append((frame["frame_number"] / fps, row))
        for items in out.values():
            items.sort(key=lambda item: item[0])
        return out


def _fps(data: Any) -> float | None:
    video = data.get("video") if isinstance(data, Mapping) else None
    fps = video.get("fps") if isinstance(video, Mapping) else None
    return float(fps) if isinstance(fps, int | float) and fps > 0 else None


def _hit(row: Mapping[str, Any], snippet: str, rank: float) -> dict[str, Any]:
    start, end = _number(row["start_s"]), _number(row["end_s"])
    return {
        "request_id": str(row["request_id"]),
        "media_name": row["media_name"],
        "media_type": row["media_type"],
        "kind": row["kind"],
        "start_s": start,
        "end_s": end,
        "page": row["page"],
        "language": row["language"],
        "rank": round(rank, 6),
        "snippet": snippet,
        "anchor": anchor(row["kind"], start, row["page"]),
        "result_id": str(row["result_id"]) if row["result_id"] is not None else None,
        "segment_id": int(row["segment_id"]),
    }


__all__ = ["SegmentSearch", "anchor", "media_name", "write_segments"]
