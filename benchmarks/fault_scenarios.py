"""The fault scenarios of ``benchmarks/faults.py`` (its docstring says what each measures),
also run with small sizes by ``test_faults.py``: each takes a running stack (and its own
PostgreSQL cluster for the restart) and returns what it measured as a dict.

Rows are inserted and read through ``media_analysis_fixtures.tables`` (the product's store);
how often each request was launched and retried is read from Dagster's own run tables, which
no store of ours covers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._common import ENDED, pending_burst, percentile, wait_ended
from media_analysis_dagster.tags import PARENT_RUN_TAG, TAG_REQUEST_ID, TAG_RUN_WORKER

if TYPE_CHECKING:
    from media_analysis_fixtures.pg import Cluster
    from media_analysis_fixtures.stack import DagsterStack

SLOW_DOWNLOAD_S = 40.0
"""Long enough that all slow runs are executing at once even on a saturated machine."""
PG_DOWN_S = 5.0
FAULT_BOUND_S = 600.0
"""After a PostgreSQL restart or a daemon restart every row has ended by then (generous: the
rows still have to be processed, at whatever rate the machine allows)."""
CODE_SERVER_BOUND_S = 150.0
"""Code server killed → its rows ended: restart (10-30 s here) + ``run_liveness_sensor`` (30 s
interval on the daemon's 5 s loop) + ``failed_run_sync_sensor`` (30 s, 5 s loop)."""
DISK_BOUND_S = 120.0

RUN_COUNTS = """
SELECT t.value AS request_id,
       count(*) FILTER (WHERE p.run_id IS NULL) AS launches,
       count(p.run_id) AS retries,
       min(r.start_time) FILTER (WHERE p.run_id IS NULL) AS first_start
FROM runs r
JOIN run_tags t ON t.run_id = r.run_id AND t.key = %(request_tag)s
LEFT JOIN run_tags p ON p.run_id = r.run_id AND p.key = %(parent_tag)s
WHERE t.value = ANY(%(ids)s)
GROUP BY t.value
"""


# -- helpers -------------------------------------------------------------------------------------
def rounded_percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile to 0.1 s; None without values."""
    return round(percentile(values, q), 1) if values else None


def run_counts(stack: DagsterStack, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per request: runs launched (not retries), retries, first run's start (epoch s), from
    Dagster's own run tables (no store of ours has them)."""
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(stack.settings.dagster_postgres_url, connect_timeout=10)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            params = {"request_tag": TAG_REQUEST_ID, "parent_tag": PARENT_RUN_TAG, "ids": list(ids)}
            cur.execute(RUN_COUNTS, params)
            return {r["request_id"]: dict(r) for r in cur.fetchall()}
    finally:
        conn.close()


def outcome(stack: DagsterStack, ids: list[str], rows: dict[str, Any]) -> dict[str, Any]:
    """Counts by status, lost rows, doubled launches and the distinct failure reasons."""
    counts = run_counts(stack, ids)
    by_status: dict[str, int] = {}
    for rid in ids:
        status = rows.get(rid, {}).get("status", "missing")
        by_status[status] = by_status.get(status, 0) + 1
    reasons = sorted(
        {
            (r.get("error_message") or "NO REASON")[:160]
            for r in rows.values()
            if r["status"] == "failed"
        }
    )
    return {
        "rows": len(ids),
        "status": by_status,
        "not_ended": sum(rows.get(i, {}).get("status") not in ENDED for i in ids),
        "launched_twice": sum(c["launches"] > 1 for c in counts.values()),
        "never_launched": len(ids) - len(counts),
        "retries": sum(c["retries"] for c in counts.values()),
        "reasons": reasons[:5],
    }


def burst(stack: DagsterStack, clip: str, count: int, timeout: float) -> dict[str, Any]:
    """``count`` pending rows at once; drain rate and pickup latency."""
    done = pending_burst(stack.settings.database_url, clip, count, timeout)
    result = outcome(stack, done.ids, done.rows)
    counts = run_counts(stack, done.ids)
    pickup = [
        counts[rid]["first_start"] - created.timestamp()
        for rid, created in done.inserted
        if rid in counts and counts[rid]["first_start"]
    ]
    result.update(
        **done.drain(),
        pickup_p50_s=rounded_percentile(pickup, 50),
        pickup_p95_s=rounded_percentile(pickup, 95),
    )
    return result


def fault_during_burst(
    stack: DagsterStack, clip: str, count: int, fault: Callable[[], None], bound_s: float
) -> tuple[list[str], dict[str, Any]]:
    """Insert ``count`` rows, run ``fault`` once a quarter of them have ended, then wait at most
    ``bound_s`` for every row to end. Returns the ids and the outcome (with ``fault_to_end_s``)."""
    from media_analysis_fixtures.tables import insert_pending

    url = stack.settings.database_url
    ids = [rid for rid, _ in insert_pending(url, count, media_path=clip)]
    wait_ended_at_least(stack, ids, max(1, count // 4))
    fault()
    faulted = time.monotonic()
    rows = wait_ended(url, ids, bound_s)
    result = outcome(stack, ids, rows)
    result["fault_to_end_s"] = round(time.monotonic() - faulted, 1)
    return ids, result


def wait_ended_at_least(stack: DagsterStack, ids: list[str], n: int, timeout: float = 600) -> None:
    from media_analysis_fixtures.processes import wait_until
    from media_analysis_fixtures.tables import request_statuses

    def check() -> bool:
        statuses = request_statuses(stack.settings.database_url, ids)
        return sum(s in ENDED for s in statuses.values()) >= n

    wait_until(check, timeout=timeout, what=f"{n} rows to end", interval=0.5)


# -- the scenarios ----------------------------------------------------------------------------
def postgres_restart(
    stack: DagsterStack, cluster: Cluster, clip: str, count: int
) -> dict[str, Any]:
    def restart() -> None:
        cluster.stop("fast")
        time.sleep(PG_DOWN_S)
        cluster.start()

    _, result = fault_during_burst(stack, clip, count, restart, FAULT_BOUND_S)
    # Dagster's storage recovered: the first GraphQL launch after the restart (n8n's path, the
    # webserver's pooled connections), then new pending rows launch and complete.
    try:
        launch(stack, {"media_path": clip, "source_endpoint": "graphql"}, {})
        result["graphql_launch_after_restart"] = "ok"
    except RuntimeError as exc:
        result["graphql_launch_after_restart"] = str(exc)[:300]
    after = burst(stack, clip, 3, 300)
    result["after_restart"] = after["status"]
    return result


def daemon_kill(stack: DagsterStack, clip: str, count: int) -> dict[str, Any]:
    def kill() -> None:
        stack.kill("daemon")
        stack.restart("daemon")

    _, result = fault_during_burst(stack, clip, count, kill, FAULT_BOUND_S)
    return result


def launch(stack: DagsterStack, config: dict[str, Any], tags: dict[str, str]) -> str:
    """``launchRun`` over the webserver's GraphQL, as n8n's "Launch run" node; the run id."""
    from media_analysis_fixtures.graphql import launch_run

    return launch_run(stack, {"prompt": "What?", "created_by": "faults", **config}, tags)


def launch_final_attempt(stack: DagsterStack, url: str) -> str:
    """A GraphQL launch (as n8n's) tagged ``dagster/max_retries=0``: its first death is final."""
    return launch(
        stack, {"media_url": url, "source_endpoint": "graphql"}, {"dagster/max_retries": "0"}
    )


def started_with_worker(stack: DagsterStack, run_ids: set[str], timeout: float = 180) -> dict:
    """``request id → run`` once every run is STARTED with its worker tag (steps executing)."""
    from media_analysis_fixtures.graphql import runs
    from media_analysis_fixtures.processes import wait_until

    def check() -> dict[str, Any] | None:
        stack.check_alive()
        mine = [r for r in runs(stack) if r["runId"] in run_ids]
        ready = [r for r in mine if r["status"] == "STARTED" and TAG_RUN_WORKER in r["tags"]]
        if len(ready) < len(run_ids):
            return None
        return {r["tags"][TAG_REQUEST_ID]: r for r in ready}

    return wait_until(check, timeout=timeout, what="the slow runs to execute", interval=1.0)


def code_server_kill(stack: DagsterStack, slow_clip: Path, sensor_rows: int = 2) -> dict[str, Any]:
    """SIGKILL the code server's group while slow runs execute, restart it, time the rows."""
    from media_analysis_fixtures.graphql import runs
    from media_analysis_fixtures.media_server import trickling_server
    from media_analysis_fixtures.processes import wait_until
    from media_analysis_fixtures.tables import insert_pending

    with trickling_server(slow_clip.parent, SLOW_DOWNLOAD_S, steps=20) as server:
        url = server.url("slow", slow_clip.name)
        final_run = launch_final_attempt(stack, url)
        ids = [
            r for r, _ in insert_pending(stack.settings.database_url, sensor_rows, media_url=url)
        ]

        def sensor_runs() -> set[str] | None:
            found = {r["runId"] for r in runs(stack) if r["tags"].get(TAG_REQUEST_ID) in ids}
            return found if len(found) == len(ids) else None

        run_ids = wait_until(sensor_runs, timeout=120, what="the sensor's runs") | {final_run}
        by_request = started_with_worker(stack, run_ids)
        [final_id] = [rid for rid, r in by_request.items() if r["runId"] == final_run]
        all_ids = [final_id, *ids]
        killed = time.monotonic()
        stack.kill("code-server")
        stack.restart("code-server")
        restart_s = time.monotonic() - killed
        failed_at: list[float] = []

        def note(done: int) -> None:
            if not failed_at and final_id in ended_now(stack, [final_id]):
                failed_at.append(time.monotonic() - killed)

        bound = CODE_SERVER_BOUND_S + SLOW_DOWNLOAD_S + 60
        rows = wait_ended(stack.settings.database_url, all_ids, bound, on_poll=note)
    result = outcome(stack, all_ids, rows)
    final = rows.get(final_id, {})
    result.update(
        restart_s=round(restart_s, 1),
        final_status=final.get("status"),
        final_reason=final.get("error_message"),
        final_error_type=(final.get("error_details") or {}).get("error_type"),
        kill_to_failed_s=round(failed_at[0], 1) if failed_at else None,
        fault_to_end_s=round(time.monotonic() - killed, 1),
        relaunched={rid: rows.get(rid, {}).get("status") for rid in ids},
    )
    return result


def ended_now(stack: DagsterStack, ids: list[str]) -> set[str]:
    from media_analysis_fixtures.tables import request_statuses

    statuses = request_statuses(stack.settings.database_url, ids)
    return {i for i, status in statuses.items() if status in ENDED}


def partial_files(left: list[str], step: str | None) -> list[str]:
    """Of the request's files, those the failing step half-wrote: its own folder (the failure
    hook removes it; earlier steps' outputs stay for a re-execution from failure, by design)
    and any ``.part`` file of an interrupted copy."""
    from media_analysis_dagster.pipeline.steps import STEP_OUTPUTS

    folder = STEP_OUTPUTS.get(step or "", ("", []))[0]
    return [f for f in left if (folder and f.split("/")[1:2] == [folder]) or f.endswith(".part")]


def disk_full(stack: DagsterStack, big_clip: Path, free_bytes: int = 64 * 1024) -> dict[str, Any]:
    """A 20 MB tmpfs over ``<data dir>/requests``, filled but for ``free_bytes``; one request."""
    from media_analysis_fixtures.tables import insert_pending

    target = stack.data_dir / "requests"
    target.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(target)], capture_output=True
    )
    if mount.returncode != 0:
        return {"rows": 1, "skipped": f"tmpfs not permitted: {mount.stderr.decode().strip()}"}
    try:
        filler = target / "filler"
        free = shutil.disk_usage(target).free
        with open(filler, "wb") as out:
            out.write(b"\0" * max(0, free - free_bytes))
        started = time.monotonic()
        [(rid, _)] = insert_pending(stack.settings.database_url, 1, media_path=str(big_clip))
        rows = wait_ended(stack.settings.database_url, [rid], DISK_BOUND_S)
        row = rows.get(rid, {})
        step = (row.get("error_details") or {}).get("step")
        left = [
            str(Path(d, n).relative_to(target))
            for d, _, names in os.walk(target / rid)
            for n in names
        ]
        return {
            "rows": 1,
            "status": {row.get("status", "missing"): 1},
            "to_end_s": round(time.monotonic() - started, 1),
            "reason": row.get("error_message"),
            "step": step,
            "error_type": (row.get("error_details") or {}).get("error_type"),
            "files_left": left,
            "partial_left": partial_files(left, step),
            "request_dir_exists": (target / rid).exists(),
        }
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
