"""The store on SQLite and PostgreSQL: lifecycle, constraints, cascades, replacement, lists."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.db.rows import NewFile, NewResult, NewSheet
from media_analysis_dagster.db.store import Store


def test_create_claim_complete(store: Store) -> None:
    row = store.create_request(
        media_type="video",
        media_path="/x.mp4",
        prompt="p",
        user_metadata={"a": 1},
        source_endpoint="cli",
    )
    assert row["status"] == "pending" and row["user_metadata"] == {"a": 1}
    claimed = store.claim_request(row["request_id"])
    assert claimed is not None and claimed["status"] == "processing" and claimed["started_at"]
    assert store.claim_request(row["request_id"]) is None, "a claimed row is never claimed again"
    assert store.complete_request(
        row["request_id"],
        confidence_score=0.8123,
        provider_chain=[{"provider": "internal"}],
        api_costs={"total": 0.0},
    )
    got = store.get_request(row["request_id"])
    assert got is not None
    assert got["status"] == "completed" and got["completed_at"]
    assert got["processing_time_ms"] >= 0 and got["confidence_score"] == pytest.approx(0.8123)
    assert got["provider_chain"] == [{"provider": "internal"}]
    assert not store.fail_request(row["request_id"], "x.", {}), "a completed row stays completed"


def test_fail_and_cancel_only_from_active_states(store: Store) -> None:
    rid = store.create_request(media_type="audio", media_url="https://e.com/a.mp3")["request_id"]
    assert store.end_request(rid, "cancelled", "Cancelled by operator.", {"run_id": None})
    assert store.get_status(rid) == "cancelled"
    assert not store.fail_request(rid, "late failure.", {"run_id": "r"})
    rid2 = store.create_request(media_type="audio", media_url="https://e.com/b.mp3")["request_id"]
    store.claim_request(rid2)
    assert store.fail_request(rid2, "Broken.", {"run_id": "r1", "step": "fetch_media"})
    got = store.get_request(rid2, with_children=False)
    assert got["error_message"] == "Broken." and got["error_details"]["step"] == "fetch_media"


def _insert(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO media_analysis_requests (media_type) VALUES (:v)", {"v": "movie"}),
        (
            "INSERT INTO media_analysis_requests (media_type, status) VALUES ('video', :v)",
            {"v": "done"},
        ),
        (
            "INSERT INTO media_analysis_results (request_id, result_type, provider) "
            "VALUES (:rid, :v, 'internal')",
            {"v": "poetry"},
        ),
        (
            "INSERT INTO media_analysis_results (request_id, result_type, provider) "
            "VALUES (:rid, 'summary', :v)",
            {"v": "skynet"},
        ),
        (
            "INSERT INTO media_files (request_id, file_type, file_path) VALUES (:rid, :v, '/x')",
            {"v": "hologram"},
        ),
    ],
)
def test_check_constraints_reject_bad_values(store: Store, sql: str, params: dict) -> None:
    rid = store.create_request(media_type="video", media_path="/v.mp4")["request_id"]
    if store.engine.dialect.name == "sqlite":
        rid = uuid.UUID(rid).hex
    with pytest.raises(IntegrityError):
        _insert(store, sql, rid=rid, **params)


def test_rows_inserted_by_plain_sql_get_database_defaults(store: Store) -> None:
    """n8n inserts rows with SQL: ids, status, timestamps and JSON defaults come from the DB."""
    _insert(
        store,
        "INSERT INTO media_analysis_requests (media_type, media_path) VALUES ('video', '/n8n.mp4')",
    )
    [row] = store.find_requests("pending", limit=10)
    assert uuid.UUID(row["request_id"]) and row["created_at"] and row["user_metadata"] == {}
    assert row["provider_chain"] == [] and row["api_costs"] == {}


def _children(store: Store, rid: str) -> dict[str, list[str]]:
    return store.replace_rows(
        rid,
        file_types=["contact_sheet"],
        result_types=["summary"],
        replace_sheets=True,
        files=[NewFile(file_type="contact_sheet", file_path="/d/s1.jpg", width=10, height=20)],
        results=[
            NewResult(
                result_type="summary",
                provider="internal",
                content="c",
                metadata={"k": "v"},
                cost_usd=0.0,
            )
        ],
        sheets=[
            NewSheet(
                frame_count=6, frames_per_sheet=6, file_index=0, sheet_number=1, total_sheets=1
            )
        ],
    )


def test_replace_rows_is_idempotent(store: Store) -> None:
    rid = store.create_request(media_type="video", media_path="/v.mp4")["request_id"]
    first = _children(store, rid)
    second = _children(store, rid)
    got = store.get_request(rid)
    assert [f["file_id"] for f in got["files"]] == second["files"] != first["files"]
    assert len(got["results"]) == 1 and got["results"][0]["metadata"] == {"k": "v"}
    assert len(got["contact_sheets"]) == 1
    assert got["contact_sheets"][0]["file_id"] == second["files"][0]
    assert got["contact_sheets"][0]["generation_method"] == "custom"


def test_delete_cascades_and_file_delete_nulls_sheet(store: Store) -> None:
    rid = store.create_request(media_type="video", media_path="/v.mp4")["request_id"]
    ids = _children(store, rid)
    with store.engine.begin() as conn:
        fid = (
            ids["files"][0]
            if store.engine.dialect.name != "sqlite"
            else uuid.UUID(ids["files"][0]).hex
        )
        conn.execute(text("DELETE FROM media_files WHERE file_id = :f"), {"f": fid})
    got = store.get_request(rid)
    assert got["contact_sheets"][0]["file_id"] is None
    assert store.delete_requests([rid]) == 1
    with store.engine.connect() as conn:
        for table in ("media_analysis_results", "media_files", "contact_sheets"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_list_filter_paginate_and_pending_order(store: Store) -> None:
    ids = [
        store.create_request(media_type=t, media_path=f"/{i}")["request_id"]
        for i, t in enumerate(["video", "audio", "video", "document"])
    ]
    store.claim_request(ids[2])
    listing = store.list_requests(media_type="video", limit=1, offset=0)
    assert listing["total"] == 2 and listing["count"] == 1
    assert listing["requests"][0]["request_id"] == ids[2], "newest first"
    assert [r["request_id"] for r in store.find_requests("pending", limit=10)] == [
        ids[0],
        ids[1],
        ids[3],
    ]
    assert [r["request_id"] for r in store.find_requests("pending", limit=1, offset=1)] == [ids[1]]
    assert store.list_requests(status="processing")["total"] == 1


def test_find_expired_by_status(store: Store) -> None:
    rid = store.create_request(media_type="video", media_path="/v")["request_id"]
    store.claim_request(rid)
    store.complete_request(rid, confidence_score=None, provider_chain=[], api_costs={})
    fresh = store.find_expired({"completed": timedelta(days=30)}, limit=10)
    assert fresh == []
    later = store.find_expired(
        {"completed": timedelta(days=30)}, limit=10, now=datetime.now(UTC) + timedelta(days=31)
    )
    assert [r["request_id"] for r in later] == [rid]


def test_concurrent_claims_have_one_winner(pg_url: str) -> None:
    """Ten threads race for one pending row on PostgreSQL: exactly one claims it."""
    engine = build_engine(pg_url, pool_size=10)
    store = Store(engine)
    rid = store.create_request(media_type="video", media_path="/v")["request_id"]
    barrier = threading.Barrier(10)
    wins: list[bool] = []

    def claim() -> None:
        barrier.wait()
        wins.append(store.claim_request(rid) is not None)

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert sorted(wins) == [False] * 9 + [True]


def _write(store: Store, request_id: str, **values: object) -> None:
    """A plain ``UPDATE`` of one request row, as an operator or n8n would write it."""
    with store.engine.begin() as conn:
        conn.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(request_id))
            .values(**values)
        )


def _backdate(store: Store, request_id: str, **times: datetime) -> None:
    """Move a row's timestamps into the past (test-only: the store never rewrites history)."""
    _write(store, request_id, **times)


def set_status(store: Store, request_id: str, status: str) -> None:
    """A plain status write, as an operator or n8n would do it with SQL (e.g. re-pending)."""
    _write(store, request_id, status=status)


def test_find_expired_pages_with_offset(store: Store) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    ids = []
    for i in range(3):
        rid = store.create_request(media_type="video", media_path=f"/{i}")["request_id"]
        store.end_request(rid, "cancelled", "Cancelled.", {})
        _backdate(store, rid, created_at=old + timedelta(minutes=i))
        ids.append(rid)
    keep = {"cancelled": timedelta(days=7)}
    assert [r["request_id"] for r in store.find_expired(keep, limit=2)] == ids[:2]
    assert [r["request_id"] for r in store.find_expired(keep, limit=2, offset=2)] == ids[2:]


def test_find_stuck_counts_from_started_at(store: Store) -> None:
    now = datetime.now(UTC)
    stuck = store.create_request(media_type="video", media_path="/s", status="processing")
    _backdate(store, stuck["request_id"], started_at=now - timedelta(hours=3))
    # created long ago but claimed just now: not stuck
    fresh = store.create_request(media_type="video", media_path="/f")
    store.claim_request(fresh["request_id"])
    _backdate(store, fresh["request_id"], created_at=now - timedelta(days=3))
    # pending rows are never "stuck processing"
    pending = store.create_request(media_type="video", media_path="/p")
    _backdate(store, pending["request_id"], created_at=now - timedelta(days=3))
    found = store.find_stuck(now - timedelta(hours=1), limit=10)
    assert [r["request_id"] for r in found] == [stuck["request_id"]]
    assert found[0]["started_at"] < now - timedelta(hours=2)
    assert store.find_stuck(now - timedelta(hours=1), limit=10, offset=1) == []


def test_pending_page_oldest_first_without_json_columns(store: Store) -> None:
    now = datetime.now(UTC)
    ids = [
        store.create_request(media_type="audio", media_path=f"/p{i}")["request_id"]
        for i in range(3)
    ]
    _backdate(store, ids[2], created_at=now - timedelta(hours=1))  # committed late, older
    done = store.create_request(media_type="video", media_path="/d")["request_id"]
    store.end_request(done, "cancelled", "Cancelled.", {})
    first = store.pending_page(limit=2)
    assert [r["request_id"] for r in first] == [ids[2], ids[0]]
    assert [r["request_id"] for r in store.pending_page(limit=2, offset=2)] == [ids[1]]
    assert set(first[0]) == {"request_id", "media_type", "created_at", "completed_at"}
    assert first[0]["created_at"].tzinfo is not None and first[0]["completed_at"] is None


def test_pending_page_is_served_by_the_status_created_index(store: Store) -> None:
    """On PostgreSQL the planner picks it once pending rows are many (a burst)."""
    from sqlalchemy import select

    from media_analysis_dagster.db.models import MediaAnalysisRequest as R

    stmt = (
        select(R.request_id, R.media_type, R.created_at, R.completed_at)
        .where(R.status == "pending")
        .order_by(R.created_at, R.request_id)
        .limit(200)
        .offset(400)
    )
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "sqlite":
            sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        else:
            conn.execute(
                text(
                    "INSERT INTO media_analysis_requests (media_type, media_path, status, "
                    "created_at) SELECT 'video', '/x', CASE WHEN g % 20 = 0 THEN 'pending' "
                    "ELSE 'completed' END, now() - g * interval '1 second' "
                    "FROM generate_series(1, 100000) g"
                )
            )
            conn.execute(text("ANALYZE media_analysis_requests"))
            sql = str(stmt.compile(store.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
    assert "idx_media_requests_status_created" in plan, plan


def test_note_cancelled_fills_only_what_a_plain_update_left_empty(store: Store) -> None:
    by_hand, by_store, pending = (
        store.create_request(media_type="video", media_path=f"/{i}")["request_id"] for i in range(3)
    )
    set_status(store, by_hand, "cancelled")
    assert store.note_cancelled(by_hand, "Cancelled by hand.", {"run_id": "r1"})
    row = store.get_request(by_hand, with_children=False)
    assert row["completed_at"] and row["error_message"] == "Cancelled by hand."
    assert row["error_details"] == {"run_id": "r1"}
    assert not store.note_cancelled(by_hand, "Again.", {}), "filled once, never overwritten"
    store.end_request(by_store, "cancelled", "Cancelled by n8n.", {"by": "n8n"})
    assert not store.note_cancelled(by_store, "Other.", {})
    assert store.get_request(by_store, with_children=False)["error_message"] == "Cancelled by n8n."
    assert not store.note_cancelled(pending, "Nope.", {})
    assert store.get_status(pending) == "pending"
