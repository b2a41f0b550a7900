"""Search on SQLite and PostgreSQL: segments written with their results, replaced with them,
deleted with their request, rebuilt by ``reindex``; filters; hostile queries never an error."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text

from media_analysis_dagster.db.models import MediaAnalysisSegment
from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.segments import page_segments
from media_analysis_dagster.db.store import Store

TRANSCRIPT: dict[str, Any] = {
    "text": "Welcome everyone. Our refund policy allows returns within thirty days.",
    "language": "en",
    "segments": [
        {"id": 0, "start": 0.0, "end": 2.1, "text": " Welcome everyone."},
        {"id": 1, "start": 12.5, "end": 16.0, "text": " Our refund policy allows returns."},
        {"id": 2, "start": 16.0, "end": 19.2, "text": " Within thirty days of purchase."},
    ],
}

HOSTILE = [
    "",
    "   \t\n ",
    "x" * 10_000,
    "refund " * 2_000,
    '"refund',
    '"""',
    "'; DROP TABLE media_analysis_segments; --",
    "refund' OR '1'='1",
    "refund AND OR NOT NEAR(a b) * ^ : ( ) { } [ ] -",
    "& | ! <-> :* \\ %",
    "a\x00b refund",
    "refund \udcff \ud800",
    "-refund",
    "or or or",
    "NEAR/3 col:refund",
    "\u202eerutcip",
    "🙂 refund 🙂",
]


def _transcribed(store: Store, *, media_path: str = "/media/town hall.mp4") -> str:
    rid = store.create_request(media_type="video", media_path=media_path)["request_id"]
    store.replace_rows(
        rid,
        result_tasks=["transcription"],
        results=[
            NewResult(
                result_type="transcription",
                provider="internal",
                content=TRANSCRIPT["text"],
                content_json=TRANSCRIPT,
                metadata={"task": "transcription"},
            )
        ],
    )
    return rid


def test_a_transcript_is_found_at_its_time(store: Store) -> None:
    rid = _transcribed(store)
    [hit] = store.search("refund policies")
    assert hit["request_id"] == rid and hit["kind"] == "transcript"
    assert hit["media_name"] == "town hall.mp4" and hit["media_type"] == "video"
    assert hit["start_s"] == 12.5 and hit["end_s"] == 16.0 and hit["anchor"] == "say-t=12.5"
    assert "«refund»" in hit["snippet"] and hit["rank"] > 0 and hit["language"] == "en"
    assert [h["start_s"] for h in store.search("thirty")] == [16.0]


def test_segments_follow_their_rows(store: Store) -> None:
    """A re-executed step replaces its segments; deleting the request deletes them."""
    rid = _transcribed(store)
    for _ in range(3):
        _transcribed(store, media_path="/other.mp4")  # another request: its own hits
        store.replace_rows(
            rid,
            result_tasks=["transcription"],
            results=[
                NewResult(
                    result_type="transcription",
                    provider="internal",
                    content_json=TRANSCRIPT,
                    metadata={"task": "transcription"},
                )
            ],
        )
    mine = [h for h in store.search("refund", limit=100) if h["request_id"] == rid]
    assert len(mine) == 1
    assert len(store.segments_of(rid)) == 3
    assert store.delete_requests([rid]) == 1
    assert store.segments_of(rid) == []
    assert rid not in {h["request_id"] for h in store.search("refund", limit=100)}
    assert len(store.search("refund", limit=100)) == 3


def test_document_pages_come_with_their_file(store: Store) -> None:
    rid = store.create_request(media_type="document", media_path="/d/terms.pdf")["request_id"]
    pages = [
        (1, "General terms of delivery for all customers of the company."),
        (2, "Die Rückerstattung erfolgt innerhalb von vierzehn Tagen nach Eingang der Ware."),
    ]
    for _ in range(2):  # a re-executed extract step
        store.replace_rows(
            rid,
            file_types=["document"],
            files=[NewFile(file_type="document", file_path="/d/text.txt")],
            segments=page_segments(pages, file_index=0),
        )
    [hit] = store.search("Rückerstattungen")
    assert (hit["kind"], hit["page"], hit["anchor"], hit["language"]) == ("page", 2, "page-2", "de")
    assert hit["start_s"] is None and "«Rückerstattung»" in hit["snippet"]
    store.replace_rows(rid, file_types=["document"])  # failure cleanup of the step's files
    assert store.search("Rückerstattung") == []


def test_filters_and_limits(store: Store) -> None:
    video = _transcribed(store)
    audio = store.create_request(media_type="audio", media_path="/a/call.wav")["request_id"]
    store.replace_rows(
        audio,
        results=[
            NewResult(
                result_type="summary",
                provider="internal",
                content="The caller asked about the refund policy.",
                content_json={"answer": "Refunds take thirty days."},
            )
        ],
    )
    assert {h["request_id"] for h in store.search("refund")} == {video, audio}
    assert {h["kind"] for h in store.search("refund", media_type="audio")} == {"summary", "answer"}
    assert [h["kind"] for h in store.search("refunds", kind="answer")] == ["answer"]
    assert store.search("refund", kind="ocr_text") == []
    assert store.search("refund", since=datetime.now(UTC) + timedelta(days=1)) == []
    assert len(store.search("refund", since=datetime.now(UTC) - timedelta(days=7))) == 3
    for limit, expected in [(0, 1), (-1, 1), (10**9, 3), ("x", 3), (None, 3), (2, 2)]:
        assert len(store.search("refund", limit=limit)) == expected, limit
    with store.engine.begin() as conn:  # 150 matching segments: at most MAX_HITS come back
        conn.execute(delete(MediaAnalysisSegment))
    _many(store, 150)
    assert len(store.search("refund", limit=10**9)) == 100


def _many(store: Store, count: int) -> None:
    rid = store.create_request(media_type="audio", media_path="/a/long.wav")["request_id"]
    segments = [
        {"start": float(i), "end": i + 1.0, "text": f"refund number {i}"} for i in range(count)
    ]
    store.replace_rows(
        rid,
        results=[
            NewResult(
                result_type="transcription",
                provider="internal",
                content_json={"language": "en", "segments": segments},
            )
        ],
    )


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_answer_hits_or_nothing(store: Store, query: str) -> None:
    _transcribed(store)
    hits = store.search(query, limit=10**9)
    assert isinstance(hits, list) and len(hits) <= 100
    assert all(h["kind"] == "transcript" for h in hits)


def test_operators_work_as_websearch(store: Store) -> None:
    _transcribed(store)
    assert [h["start_s"] for h in store.search('"refund policy"')] == [12.5]
    assert store.search('"policy refund"') == []
    assert [h["start_s"] for h in store.search("refund -thirty")] == [12.5]
    assert store.search("refund -policy") == []
    assert {h["start_s"] for h in store.search("welcome or purchase")} == {0.0, 16.0}
    assert store.search("refund purchase") == [], "every word must match one segment"


def test_reindex_rebuilds_segments_of_older_rows(store: Store) -> None:
    rid = _transcribed(store)
    before = [(s["kind"], s["start_s"], s["text"]) for s in store.segments_of(rid)]
    with store.engine.begin() as conn:  # rows written before search existed
        conn.execute(delete(MediaAnalysisSegment))
    assert store.search("refund") == []
    for _ in range(2):  # idempotent
        counts = store.reindex(batch_size=1)
        assert counts == {"results": 1, "documents": 0, "segments": 3}
        assert [(s["kind"], s["start_s"], s["text"]) for s in store.segments_of(rid)] == before
    assert [h["start_s"] for h in store.search("refund")] == [12.5]


def test_reindex_reads_documents_when_told_how(store: Store) -> None:
    rid = store.create_request(media_type="document", media_path="/d/two.pdf")["request_id"]
    pages = ["Invoices are due within thirty days.", "Late payments incur a fee."]
    store.replace_rows(
        rid,
        files=[NewFile(file_type="document", file_path="/d/text.txt")],
        results=[
            NewResult(
                result_type="metadata_extraction",
                provider="internal",
                content_json={
                    "document": {
                        "page_count": 2,
                        "pages": [
                            {"number": n, "chars": len(p), "has_text_layer": True}
                            for n, p in enumerate(pages, start=1)
                        ],
                    }
                },
            )
        ],
    )
    read = []

    def reader(file: Mapping[str, Any]) -> str:
        read.append(file["file_path"])
        return "\n\n".join(pages)

    counts = store.reindex(read_document=reader)
    assert counts["documents"] == 1 and read == ["/d/text.txt"]
    [hit] = store.search("payment")
    assert hit["page"] == 2 and hit["kind"] == "page"
    assert store.reindex(read_document=reader)["segments"] == counts["segments"]
    assert len(store.segments_of(rid)) == 2


def test_sqlite_index_agrees_with_its_table(store: Store) -> None:
    """FTS5's external-content index is kept by triggers: after writes, replacements and
    cascades it holds exactly the table's rows (the integrity check compares both)."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("an SQLite index")
    rid = _transcribed(store)
    _transcribed(store)
    store.delete_requests([rid])
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO media_analysis_segments_fts(media_analysis_segments_fts, rank) "
                "VALUES ('integrity-check', 1)"
            )
        )
