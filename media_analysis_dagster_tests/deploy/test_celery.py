"""The Celery deployment (``deploy/celery/``) with real processes: what holds across workers.

One throwaway ``redis-server`` (broker and result backend; restarted by one test, never the
machine's shared one), three Celery workers that stand in for hosts (own directory,
``DAGSTER_HOME``, scratch and ``TMPDIR``; ``media_analysis_fixtures/celery.py``), the webserver,
daemon and code server on the Celery instance, PostgreSQL for both databases, moto's S3 server
for every artifact and the fake OpenAI server behind a pool of one slot. Inputs come from the
bucket's inbox, as n8n hands files over, since no worker sees another's disk.

The stated bounds (``deploy/celery/README.md``) are asserted here: a worker killed mid-run ends
its rows ``failed`` within ``KILL_TO_ROW_S``; a cancelled row's run on another worker ends
``CANCELED`` within ``CANCEL_TO_RUN_S``; a broker restart mid-burst ends every row within
``BROKER_RESTART_S`` (with ``start_timeout_seconds`` lowered to 60 s here, see that test).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_analysis_dagster import cli
from media_analysis_fixtures import make_video, pg
from media_analysis_fixtures.celery import (
    CallbackReceiver,
    CeleryStack,
    CeleryStackSettings,
    CeleryWorker,
    insert_requests,
    set_status,
    worker_of_task,
)
from media_analysis_fixtures.fake_providers import FakeProviders
from media_analysis_fixtures.graphql import run_messages
from media_analysis_fixtures.media_server import TricklingServer, trickling_server
from media_analysis_fixtures.object_servers import PREFIX, S3Server, moto_s3_server
from media_analysis_fixtures.processes import wait_until
from media_analysis_fixtures.tables import read_requests

from .celery_checks import (
    TASK_TAG,
    TERMINAL,
    age_request,
    ended_rows,
    in_flight,
    insert_processing,
    launch_retention,
    need_redis_server,
    objects_of,
    run_of,
    run_status,
    runs_by_request,
    set_pool_limit,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

BURST = 6
BURST_DEADLINE_S = 180.0
"""6 two-second clips on 3 workers of one process each, their vision calls through a pool of one
slot: measured 60-90 s on the loaded 2-core machine."""
SLOW_S = 25.0
"""How long the trickling server takes to serve one clip: the run is in ``fetch_media``."""
KILL_TO_ROW_S = 120.0
"""Worker killed → its row ``failed``: run monitoring's 10 s poll (each check waits up to 5 s for
the workers' answers), ``silence_grace_s`` (20 s) and the next poll fail the run (~45 s), then
``failed_run_sync_sensor`` (30 s interval on the daemon's 5 s loop) fails the row. Measured
44-78 s on the loaded 2-core machine."""
CANCEL_TO_RUN_S = 45.0
"""Row set ``cancelled`` → its run ``CANCELED``: the cancellation sensor (2 s here), the revoke
over the broker, the executor's 10 s grace for the running step."""
BROKER_RESTART_S = 300.0
"""Broker restarted → every row ended: a run whose task the restart lost fails after
``start_timeout_seconds`` (60 s here) plus a poll, is retried once and runs (about 30 s)."""
CAP_USD = 0.0125
"""The per-request budget: some of six one-frame sheets' vision calls fit, not all (as in
``ops/test_budget.py``)."""
LATENCY_S = 0.5
COMPLETED: list[str] = []
"""Requests the burst completed (the retention test expires one of them)."""


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        server.set_latency("openai", LATENCY_S)
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[CallbackReceiver]:
    server = CallbackReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def clip_url(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A two-second clip uploaded to the bucket's inbox, as n8n's S3 node would."""
    clip = make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", duration=2.0, size=(160, 120))
    client = s3.client()
    client.upload_file(str(clip), s3.bucket, f"{PREFIX}inbox/clip.mp4")
    client.close()
    return f"s3://{s3.bucket}/{PREFIX}inbox/clip.mp4"


@pytest.fixture(scope="module")
def slow_media(
    clip_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TricklingServer]:
    clip = make_video(tmp_path_factory.mktemp("slow") / "clip.mp4", duration=2.0, size=(160, 120))
    with trickling_server(clip.parent, SLOW_S) as server:
        yield server


@pytest.fixture(scope="module")
def celery(
    pg_admin_url: str,
    s3: S3Server,
    fake: FakeProviders,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[CeleryStack]:
    need_redis_server()
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_cel_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_cel_tables")
    settings = CeleryStackSettings(
        dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
        database_url=pg.with_database(pg_admin_url, tables_db),
        base_dir=tmp_path_factory.mktemp("celery"),
        env={
            "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_CALLBACK_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_CALLBACK_ALLOW": "127.0.0.0/8",
            "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
            "MEDIA_ANALYSIS_WHISPER_MODEL": "off",
            "MEDIA_ANALYSIS_BUDGET_USD": str(CAP_USD),
            "OPENAI_API_KEY": "sk-fake-celery",
            "OPENAI_BASE_URL": fake.base_url("openai"),
            "DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT": "100",
            "DAGSTER_RUN_STATUS_SENSOR_FETCH_LIMIT": "200",
            **s3.env(),
        },
        workers=3,
        # The broker test's lost tasks fail after this instead of 180 s (the bound scales).
        instance_overrides={"run_monitoring": {"start_timeout_seconds": 60}},
    )
    try:
        with CeleryStack(settings) as running:
            set_pool_limit(running, "openai", 1)
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


def _metadata(receiver: CallbackReceiver) -> dict[str, Any]:
    """Six one-frame sheets (six vision calls, more than the cap holds), OpenAI first, a
    completion callback."""
    return {
        "frame_count": 6,
        "grid_cols": 1,
        "grid_rows": 1,
        "providers": ["openai", "internal"],
        "callback_url": receiver.url,
    }


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.timeout(420)
def test_a_burst_spreads_over_the_workers_and_each_row_runs_once(
    celery: CeleryStack,
    clip_url: str,
    fake: FakeProviders,
    receiver: CallbackReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    s3: S3Server,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = celery.settings.database_url
    started = time.monotonic()
    ids = insert_requests(db, BURST, media_url=clip_url, user_metadata=_metadata(receiver))
    rows = ended_rows(celery, ids, BURST_DEADLINE_S, "the burst")
    burst_s = time.monotonic() - started
    assert {r["status"] for r in rows.values()} == {"completed"}, {
        i: (r["status"], r["error_message"]) for i, r in rows.items()
    }

    by_request = runs_by_request(celery, ids)
    assert all(len(r) == 1 for r in by_request.values()), "a row was launched twice"
    workers = {worker_of_task(celery.workers, r[0]["tags"][TASK_TAG]) for r in by_request.values()}
    assert workers == {w.name for w in celery.workers}, f"not every worker ran one: {workers}"

    # Pool of one slot across all workers: no two OpenAI calls overlapped, while runs did.
    calls = sorted(r.at for r in fake.requests("openai", "chat"))
    assert len(calls) >= BURST
    assert min(b - a for a, b in itertools.pairwise(calls)) >= LATENCY_S * 0.9, calls
    # The budget holds per request whichever worker ran it; it did bind.
    chains = [a for r in rows.values() for a in r["provider_chain"] or []]
    vision = [a for a in chains if a["result_type"] == "vision_analysis"]
    skipped = [a for a in vision if a["status"] == "skipped"]
    assert skipped and all("budget cap" in a["error"] for a in skipped), [
        (a["status"], a.get("estimate_usd"), a["error"]) for a in vision
    ]
    assert all(float(r["api_costs"]["total"]) <= CAP_USD for r in rows.values())

    # Artifacts: in the bucket only, fetchable from another machine's data dir.
    for worker in celery.workers:
        left = [p for p in worker.data_dir.rglob("*") if p.is_file()]
        assert left == [], f"{worker.name} kept files: {left[:3]}"
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", db)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATA_DIR", str(tmp_path / "reader"))
    for rid in ids[:2]:
        out = tmp_path / "fetched" / rid
        assert cli.main(["fetch", rid, "--out", str(out)]) == 0
        fetched = {p.name: p for p in out.rglob("*") if p.is_file()}
        files = objects_of(db, rid)
        assert len(fetched) == len(files) > 0
        for file in files:
            data = fetched[Path(file["file_path"]).name].read_bytes()
            assert hashlib.sha256(data).hexdigest() == file["checksum"]
    capsys.readouterr()  # fetch lists every file it wrote

    wait_until(
        lambda: all(len(receiver.deliveries(i)) == 1 for i in ids),
        timeout=30,
        what="one callback per request",
    )
    COMPLETED.extend(ids)
    print(f"\n{BURST} rows completed on 3 workers in {burst_s:.1f} s")


@pytest.mark.timeout(300)
def test_a_killed_worker_fails_its_row_and_a_cancel_reaches_another_worker(
    celery: CeleryStack, slow_media: TricklingServer, receiver: CallbackReceiver
) -> None:
    """Three slow rows, one on each worker: one worker is killed (as its host would die), one
    row is cancelled in the table, the third completes."""
    db = celery.settings.database_url
    url = slow_media.url("slow", "clip.mp4")
    ids = insert_requests(db, 3, media_url=url, user_metadata={"callback_url": receiver.url})

    def all_started() -> dict[str, dict[str, Any]] | None:
        """Each run started and its row claimed (a row cancelled before its run claims it is
        refused by ``register_request``: another test)."""
        claimed = read_requests(db, ids)
        if any(claimed.get(i, {}).get("status") != "processing" for i in ids):
            return None
        by_request = runs_by_request(celery, ids)
        started = {rid: r[0] for rid, r in by_request.items() if r and r[0]["status"] == "STARTED"}
        return started if len(started) == 3 else None

    started = wait_until(all_started, timeout=120, what="three slow runs to claim", interval=1)
    victim_id, cancel_id, _ = ids
    victim_name = worker_of_task(celery.workers, started[victim_id]["tags"][TASK_TAG])
    canceller = worker_of_task(celery.workers, started[cancel_id]["tags"][TASK_TAG])
    assert victim_name and canceller and canceller != victim_name
    victim = celery.worker(victim_name)

    victim.kill()
    try:
        kill_s, cancel_s = _cancel_then_wait(celery, ids, victim, receiver)
    finally:
        celery.restart_worker(victim.name)  # its host came back
    print(f"\nkill -> row failed {kill_s:.1f} s; cancel -> run CANCELED {cancel_s:.1f} s")


def _cancel_then_wait(
    celery: CeleryStack, ids: list[str], victim: CeleryWorker, receiver: CallbackReceiver
) -> tuple[float, float]:
    """Right after ``victim`` was killed: cancel the second row, then check every row's end."""
    db = celery.settings.database_url
    victim_id, cancel_id, survivor_id = ids
    killed_at = time.monotonic()
    set_status(db, cancel_id, "cancelled")
    cancelled_at = time.monotonic()

    def cancelled() -> bool:
        [run] = runs_by_request(celery, [cancel_id])[cancel_id]
        if run["status"] not in {"STARTED", "CANCELING", "CANCELED"}:
            raise AssertionError(f"{run['status']}: {run_messages(celery.stack, run['runId'])}")
        return run["status"] == "CANCELED"

    wait_until(cancelled, timeout=CANCEL_TO_RUN_S, what="the cancelled row's run to stop")
    cancel_s = time.monotonic() - cancelled_at

    rows = ended_rows(celery, [victim_id], KILL_TO_ROW_S, "the killed worker's row")
    kill_s = time.monotonic() - killed_at
    row = rows[victim_id]
    assert row["status"] == "failed", row
    assert "is gone" in row["error_message"] and victim.node in row["error_message"], row
    assert row["error_details"]["error_type"] == "RunWorkerGone"
    assert len(runs_by_request(celery, [victim_id])[victim_id]) == 1, "not retried"

    final = ended_rows(celery, [survivor_id, cancel_id], 120, "the other rows")
    assert final[survivor_id]["status"] == "completed", final[survivor_id]
    assert final[cancel_id]["status"] == "cancelled"
    wait_until(
        lambda: all(len(receiver.deliveries(i)) == 1 for i in ids),
        timeout=45,
        what="one callback per row",
    )
    return kill_s, cancel_s


@pytest.mark.timeout(480)
def test_a_broker_restart_mid_burst_ends_every_row(celery: CeleryStack, clip_url: str) -> None:
    """The broker (and result backend) restarted without persistence while runs are in flight:
    running ones carry on; a run whose task was lost fails its start timeout and is retried."""
    db = celery.settings.database_url
    wait_until(lambda: not in_flight(celery), timeout=120, what="the earlier runs to end")
    ids = insert_requests(db, 4, media_url=clip_url, user_metadata={"frame_count": 2})

    def some_started() -> bool:
        statuses = [r[0]["status"] for r in runs_by_request(celery, ids).values() if r]
        return statuses.count("STARTED") >= 2

    wait_until(some_started, timeout=120, what="runs to start", interval=0.5)
    celery.broker.restart(down_s=3.0)
    restarted_at = time.monotonic()
    rows = ended_rows(celery, ids, BROKER_RESTART_S, "every row after the broker restart")
    ended_s = time.monotonic() - restarted_at
    assert {r["status"] for r in rows.values()} == {"completed"}, {
        i: (r["status"], r["error_message"]) for i, r in rows.items()
    }

    def runs_ended() -> dict[str, list[dict[str, Any]]] | None:
        by_request = runs_by_request(celery, ids)
        done = all(a["status"] in TERMINAL for r in by_request.values() for a in r)
        return by_request if done else None

    by_request = wait_until(runs_ended, timeout=60, what="the runs to end")
    retried = 0
    for rid, attempts in by_request.items():  # newest first
        assert attempts[-1]["tags"].get("dagster/parent_run_id") is None, "launched once"
        assert [a["status"] for a in attempts] == ["SUCCESS"] + ["FAILURE"] * (len(attempts) - 1)
        assert len(attempts) <= 2, (rid, attempts)
        retried += len(attempts) - 1
    print(
        f"\nbroker restart -> {len(ids)} rows completed {ended_s:.1f} s later ({retried} retried)"
    )


@pytest.mark.timeout(300)
def test_retention_runs_on_a_worker_and_deletes_rows_and_objects(
    celery: CeleryStack, clip_url: str, s3: S3Server
) -> None:
    """retention_cleanup_job (launched as its schedule would) runs on a worker: it deletes an
    expired request's row and objects and fails a row stuck without a run."""
    db = celery.settings.database_url
    if not COMPLETED:  # run on its own: make one
        COMPLETED.extend(insert_requests(db, 1, media_url=clip_url))
        assert ended_rows(celery, COMPLETED, 120, "one request")[COMPLETED[0]]["status"] == (
            "completed"
        )
    expired = COMPLETED[0]
    prefix = f"{PREFIX}requests/{expired}/"
    assert objects_of(db, expired) and _keys(s3, prefix), "the request stored objects"
    age_request(db, expired, hours=40 * 24)
    stuck = insert_processing(db)
    age_request(db, stuck, hours=2)

    run_id = launch_retention(celery)
    wait_until(
        lambda: run_status(celery, run_id) == "SUCCESS",
        timeout=180,
        what="retention_cleanup_job to succeed on a worker",
    )
    task_id = run_of(celery, run_id)["tags"][TASK_TAG]
    assert worker_of_task(celery.workers, task_id), "it ran on a worker"
    assert read_requests(db, [expired]) == {}
    assert _keys(s3, prefix) == []
    row = read_requests(db, [stuck])[stuck]
    assert row["status"] == "failed" and row["error_details"]["error_type"] == "StuckRequest"


def _keys(s3: S3Server, prefix: str) -> list[str]:
    client = s3.client()
    try:
        listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=prefix)
    finally:
        client.close()
    return [o["Key"] for o in listed.get("Contents", [])]
