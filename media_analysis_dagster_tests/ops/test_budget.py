"""The budget cap holds when a request's calls run at the same time, on SQLite and PostgreSQL.

Every paid call reserves the most it can cost on the request row (``Store.reserve_usd``) before
it is made; these tests race many threads, several processes and a whole run with six
concurrent vision calls against one cap.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from media_analysis_dagster.db.rows import NewResult
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.pipeline.budget import StoreBudget
from media_analysis_fixtures import make_video
from media_analysis_fixtures.fake_providers import FakeProviders

from .harness import Pipeline

LEDGER = {"spent_usd", "reserved_usd"}


def _ledger(store: Store, request_id: str) -> dict:
    return store.budget_of(request_id) or {}


def _new_request(store: Store) -> str:
    return str(store.create_request(media_path="/x.mp4", status="processing")["request_id"])


def test_reservations_from_many_threads_never_exceed_the_cap(store: Store) -> None:
    """16 threads ask 10 times each for $0.07 of a $1.00 cap: exactly 14 are granted."""
    rid = _new_request(store)
    start = threading.Barrier(16)

    def ask(_: int) -> list[bool]:
        start.wait()
        return [store.reserve_usd(rid, 0.07, 1.0)[0] for _ in range(10)]

    with ThreadPoolExecutor(16) as pool:
        granted = sum(sum(answers) for answers in pool.map(ask, range(16)))
    assert granted == 14
    ledger = _ledger(store, rid)
    assert ledger["reserved_usd"] == pytest.approx(0.98) and ledger["spent_usd"] == 0.0
    for _ in range(14):  # every call cost less than it reserved: the surplus is free again
        store.settle_usd(rid, 0.07, 0.05)
    assert _ledger(store, rid) == {"spent_usd": pytest.approx(0.70), "reserved_usd": 0.0}
    assert [store.reserve_usd(rid, 0.07, 1.0)[0] for _ in range(5)] == [True] * 4 + [False]


def test_reserve_and_settle_race_without_losing_an_update(store: Store) -> None:
    """Threads reserve, 'call' and settle at once; the ledger ends exactly at what was spent."""
    rid = _new_request(store)
    budget = StoreBudget(store, rid, max_usd=0.5)
    spent: list[float] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(6):
            reservation = budget.reserve(0.04)
            if reservation.granted:
                assert reservation.spent_usd + reservation.reserved_usd + 0.04 <= 0.5 + 1e-9
                time.sleep(0.002)
                cost = 0.01 * ((i + j) % 4)
                with lock:
                    spent.append(cost)
                budget.settle(reservation, cost)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(work, range(12)))
    ledger = _ledger(store, rid)
    assert ledger["reserved_usd"] == pytest.approx(0.0, abs=1e-9)
    assert ledger["spent_usd"] == pytest.approx(sum(spent)) and sum(spent) <= 0.5
    assert len(spent) < 72, "the cap stopped some calls"


_PROCESS = """
import sys
from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store
store = Store(build_engine(sys.argv[1]))
print(sum(store.reserve_usd(sys.argv[2], 0.1, 1.0)[0] for _ in range(8)))
"""


def test_reservations_hold_across_processes(store: Store, db_url: str) -> None:
    """Three processes (runs of one request) ask 8 times each for $0.10 of $1.00: 10 granted."""
    rid = _new_request(store)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS, db_url, rid], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    granted = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    assert sum(granted) == 10 and _ledger(store, rid)["reserved_usd"] == pytest.approx(1.0)


def test_ledger_starts_from_stored_costs_and_completion_drops_it(store: Store) -> None:
    rid = _new_request(store)
    old = NewResult(
        "vision_analysis", "openai", cost_usd=0.5, metadata={"task": "vision_analysis_1"}
    )
    store.replace_rows(rid, results=[old])
    assert store.reserve_usd(rid, 0.6, 1.0) == (False, 0.5, 0.0)
    assert store.reserve_usd(rid, 0.4, 1.0) == (True, 0.5, 0.0)
    store.complete_request(rid, confidence_score=None, provider_chain=[], api_costs={"total": 0})
    store.settle_usd(rid, 0.4, 0.3)  # a straggler after completion changes nothing
    assert store.budget_of(rid) is None
    assert store.get_request(rid, with_children=False)["api_costs"] == {"total": 0}
    assert store.reserve_usd("00000000-0000-0000-0000-000000000000", 0.1, 1.0)[0] is False


# -- a whole run: six vision calls at once against one cap --------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        monkeypatch.setenv("MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S", "0.05")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-budget")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url("openai"))
        yield server


def test_six_concurrent_vision_calls_stay_within_the_cap(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six one-frame contact sheets, so six vision steps reserve at the same moment (each call
    takes 2 s); the cap fits two of them. Checking what was spent before the call (the old way)
    let all six through."""
    cap = 0.0125
    latency = 2.0
    monkeypatch.setenv("MEDIA_ANALYSIS_BUDGET_USD", str(cap))
    fake.set_latency("openai", latency)
    silent = make_video(pipeline.inbox / "silent.mp4", duration=6.0, audio=False)
    result = pipeline.run(media_path=str(silent), frame_count=6, grid_cols=1, grid_rows=1)
    req = pipeline.request_of(result)
    assert req["status"] == "completed", req

    vision = [a for a in req["provider_chain"] if a["result_type"] == "vision_analysis"]
    assert len(vision) == 6 and all(a["provider"] == "openai" for a in vision)
    estimate = max(a["estimate_usd"] for a in vision)
    assert estimate > 0, f"no call was bounded: {vision[0]['error']}"
    fits = int(cap // estimate)
    assert 1 <= fits < 6, f"the test needs a cap that fits some calls, not all ({estimate=})"
    made = [a for a in vision if a["status"] == "success"]
    skipped = [a for a in vision if a["status"] == "skipped"]
    assert len(made) >= fits and skipped, [a["status"] for a in vision]
    assert all("budget cap" in a["error"] for a in skipped)

    calls = sorted(r.at for r in fake.requests("openai", "chat"))
    in_flight = max(sum(1 for t in calls if s <= t < s + latency) for s in calls)
    assert in_flight <= fits, "more calls ran at once than the cap could hold"
    total = sum(float(r["cost_usd"] or 0) for r in req["results"])
    assert 0 < total <= cap and req["api_costs"]["total"] <= cap
    assert not LEDGER & set(req["api_costs"]), json.dumps(req["api_costs"])
