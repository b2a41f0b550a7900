"""The callback outbox on SQLite and PostgreSQL: idempotent enqueue, leased claims that two
claimers never share, attempts recorded, rows gone with their request."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store

PAYLOAD = {"event": "media_analysis.request.finished", "status": "completed", "n": 1}


def _request(store: Store) -> str:
    return str(store.create_request(media_path="/x.mp4", status="processing")["request_id"])


def _enqueue(store: Store, rid: str, delivery: str, url: str = "https://hooks.example/x") -> bool:
    return store.enqueue_callback(rid, delivery, url, {**PAYLOAD, "request_id": rid})


def test_enqueue_is_idempotent_per_delivery_id(store: Store) -> None:
    rid = _request(store)
    assert _enqueue(store, rid, f"{rid}:completed:run1")
    assert not _enqueue(store, rid, f"{rid}:completed:run1", url="https://other.example/y")
    [row] = store.callbacks_of(rid)
    assert row["url"] == "https://hooks.example/x", "the first row is left as it was"
    assert row["status"] == "pending" and row["attempts"] == 0
    assert row["payload"]["request_id"] == rid and row["delivered_at"] is None
    with pytest.raises(IntegrityError):
        _enqueue(store, "00000000-0000-0000-0000-000000000000", "nobody:completed:")


def test_claim_leases_due_rows_oldest_first(store: Store) -> None:
    rid = _request(store)
    ids = [f"{rid}:completed:run{i}" for i in range(3)]
    for delivery in ids:
        assert _enqueue(store, rid, delivery)
    now = datetime.now(UTC) + timedelta(seconds=1)
    first = store.claim_due_callbacks(2, lease_s=60, now=now)
    assert [c["delivery_id"] for c in first] == ids[:2]
    assert set(first[0]) == {
        "callback_id",
        "request_id",
        "delivery_id",
        "url",
        "payload",
        "attempts",
    }
    assert first[0]["payload"]["status"] == "completed" and first[0]["attempts"] == 0
    assert [c["delivery_id"] for c in store.claim_due_callbacks(5, 60, now=now)] == ids[2:]
    assert store.claim_due_callbacks(5, 60, now=now) == [], "leased rows are not due"
    later = store.claim_due_callbacks(5, 60, now=now + timedelta(seconds=61))
    assert [c["delivery_id"] for c in later] == ids, "a lease that ran out frees the rows"


def test_attempts_are_recorded(store: Store) -> None:
    rid = _request(store)
    for status in ("completed", "failed", "cancelled"):
        _enqueue(store, rid, f"{rid}:{status}:r")
    now = datetime.now(UTC) + timedelta(seconds=1)
    delivered, retried, given_up = store.claim_due_callbacks(3, 30, now=now)
    store.record_callback_attempt(
        delivered["callback_id"], delivered=True, status_code=200, error=None, next_attempt_at=None
    )
    store.record_callback_attempt(
        retried["callback_id"],
        delivered=False,
        status_code=503,
        error="answered 503",
        next_attempt_at=now + timedelta(seconds=5),
    )
    store.record_callback_attempt(
        given_up["callback_id"],
        delivered=False,
        status_code=None,
        error="connection refused",
        next_attempt_at=None,
    )
    rows = {r["delivery_id"].split(":")[1]: r for r in store.callbacks_of(rid)}
    assert rows["completed"]["status"] == "delivered" and rows["completed"]["delivered_at"]
    assert rows["completed"]["last_status_code"] == 200 and rows["completed"]["attempts"] == 1
    assert rows["failed"]["status"] == "pending" and rows["failed"]["last_error"] == "answered 503"
    assert rows["cancelled"]["status"] == "failed" and rows["cancelled"]["last_status_code"] is None
    [again] = store.claim_due_callbacks(3, 30, now=now + timedelta(seconds=6))
    assert again["delivery_id"] == rows["failed"]["delivery_id"] and again["attempts"] == 1
    # an attempt that ends after the row was delivered elsewhere does not reopen it
    store.record_callback_attempt(
        delivered["callback_id"],
        delivered=False,
        status_code=500,
        error="late",
        next_attempt_at=now,
    )
    assert {r["status"] for r in store.callbacks_of(rid)} == {"delivered", "pending", "failed"}


def test_callbacks_go_with_their_request(store: Store) -> None:
    rid = _request(store)
    _enqueue(store, rid, f"{rid}:completed:r")
    assert store.delete_requests([rid]) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM media_analysis_callbacks")).scalar() == 0


def test_concurrent_claimers_never_share_a_row(db_url: str) -> None:
    """Eight threads claim small batches of 60 due callbacks at once: each row goes to one."""
    engine = build_engine(db_url, pool_size=8)
    store = Store(engine)
    rid = _request(store)
    for i in range(60):
        _enqueue(store, rid, f"{rid}:completed:run{i}")
    now = datetime.now(UTC) + timedelta(seconds=1)
    barrier = threading.Barrier(8)
    claimed: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        while batch := store.claim_due_callbacks(3, lease_s=300, now=now):
            with lock:
                claimed.extend(c["callback_id"] for c in batch)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert len(claimed) == 60 and len(set(claimed)) == 60


_CLAIMER = """
import sys
from datetime import UTC, datetime, timedelta
from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store
store = Store(build_engine(sys.argv[1]))
now = datetime.now(UTC) + timedelta(seconds=5)
got = []
while batch := store.claim_due_callbacks(2, 300, now=now):
    got.extend(c["callback_id"] for c in batch)
print(",".join(got))
"""


def test_claimers_in_several_processes_never_share_a_row(store: Store, db_url: str) -> None:
    rid = _request(store)
    for i in range(30):
        _enqueue(store, rid, f"{rid}:completed:run{i}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CLAIMER, db_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    claimed = [
        cid for p in procs for cid in p.communicate(timeout=120)[0].strip().split(",") if cid
    ]
    assert len(claimed) == 30 and len(set(claimed)) == 30
