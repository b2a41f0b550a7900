"""The budget ledger lives in ``media_analysis_budget``, never in the ``api_costs`` n8n reads,
and keeps its semantics: atomic reservations against one cap, settle, dropped on completion."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from media_analysis_dagster.db.rows import NewResult
from media_analysis_dagster.db.store import Store


def _processing(store: Store) -> str:
    return str(store.create_request(media_path="/x.mp4", status="processing")["request_id"])


def _api_costs(store: Store, request_id: str) -> dict:
    row = store.get_request(request_id, with_children=False)
    assert row is not None
    return dict(row["api_costs"])


def test_threads_never_exceed_the_cap_and_api_costs_stays_clean(store: Store) -> None:
    """16 threads ask 10 times each for $0.07 of a $1.00 cap: exactly 14 are granted."""
    rid = _processing(store)
    start = threading.Barrier(16)

    def ask(_: int) -> list[bool]:
        start.wait()
        return [store.reserve_usd(rid, 0.07, 1.0)[0] for _ in range(10)]

    with ThreadPoolExecutor(16) as pool:
        granted = sum(sum(answers) for answers in pool.map(ask, range(16)))
    assert granted == 14
    ledger = store.budget_of(rid)
    assert ledger == {"spent_usd": 0.0, "reserved_usd": pytest.approx(0.98)}
    assert _api_costs(store, rid) == {}, "n8n's column shows no bookkeeping while a run works"
    for _ in range(14):
        store.settle_usd(rid, 0.07, 0.05)
    assert store.budget_of(rid) == {"spent_usd": pytest.approx(0.70), "reserved_usd": 0.0}
    assert [store.reserve_usd(rid, 0.07, 1.0)[0] for _ in range(5)] == [True] * 4 + [False]


# Several processes taking turns on one ledger: ops/test_budget.py


def test_ledger_starts_from_stored_costs_and_completion_drops_it(store: Store) -> None:
    rid = _processing(store)
    old = NewResult("vision_analysis", "openai", cost_usd=0.5, metadata={"task": "v1"})
    store.replace_rows(rid, results=[old])
    assert store.reserve_usd(rid, 0.6, 1.0) == (False, 0.5, 0.0)
    assert store.budget_of(rid) is None, "a refused reservation writes nothing"
    assert store.reserve_usd(rid, 0.4, 1.0) == (True, 0.5, 0.0)
    assert store.budget_of(rid) == {"spent_usd": 0.5, "reserved_usd": pytest.approx(0.4)}
    store.complete_request(rid, confidence_score=None, provider_chain=[], api_costs={"total": 0})
    assert store.budget_of(rid) is None
    store.settle_usd(rid, 0.4, 0.3)  # a straggler after completion changes nothing
    assert store.budget_of(rid) is None and _api_costs(store, rid) == {"total": 0}
    assert store.reserve_usd("00000000-0000-0000-0000-000000000000", 0.1, 1.0) == (
        False,
        0.0,
        0.0,
    )


def test_a_failed_request_keeps_its_ledger_and_deleting_it_drops_it(store: Store) -> None:
    """A re-executed run of a failed request goes on counting what its calls spent."""
    rid = _processing(store)
    granted, _, _ = store.reserve_usd(rid, 0.25, 1.0)
    store.settle_usd(rid, 0.25, 0.2)
    assert granted and store.fail_request(rid, "Broken.", {"step": "analyze"})
    assert store.claim_request(rid, from_statuses=("failed",)) is not None
    assert store.reserve_usd(rid, 0.1, 1.0) == (True, pytest.approx(0.2), 0.0)
    assert store.delete_requests([rid]) == 1
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM media_analysis_budget")).scalar() == 0


def test_cheap_calls_are_not_rounded_away(store: Store) -> None:
    """Twelve decimals, as before: a million calls at $0.000000123 add up."""
    rid = _processing(store)
    for _ in range(3):
        assert store.reserve_usd(rid, 0.000000123, 1.0)[0]
        store.settle_usd(rid, 0.000000123, 0.000000123)
    assert store.budget_of(rid) == {
        "spent_usd": pytest.approx(3.69e-7, abs=1e-13),
        "reserved_usd": 0.0,
    }
