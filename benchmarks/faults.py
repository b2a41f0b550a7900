"""Benchmark: faults under load, with the three production processes on PostgreSQL.

Starts its OWN throwaway PostgreSQL (initdb/pg_ctl on a free port under a temp dir, never the
machine's shared server), the code server, webserver and daemon
(``media_analysis_fixtures/processes.py``, root ``dagster.yaml``), then, one after another:

- **burst**: ``--rows`` pending rows of 2 s clips: all complete, none launched twice (runs per
  request id, retries counted apart), drain rate, p50/p95 pickup latency (row → run start);
- **postgres restart**: PostgreSQL stopped (``pg_ctl -m fast``: every session ends) and started
  again in the middle of a burst: every row ends completed or failed with a reason within the
  bound, none lost or doubled, and new rows still launch and complete afterwards;
- **daemon kill**: ``dagster-daemon`` SIGKILLed and restarted mid-burst: none launched twice,
  none lost;
- **code server kill**: the code server's process group SIGKILLed (its run workers die with it)
  while slow requests run, then restarted: ``run_liveness_sensor`` fails the runs; the one
  launched with ``dagster/max_retries=0`` ends ``failed``, the sensor-launched ones are retried
  (``run_retries``) and complete;
- **disk full**: a 20 MB tmpfs mounted over ``<data dir>/requests`` and filled: the row ends
  failed with a reason, and none of its partial files are left.

Prints a markdown table (``--json`` for one JSON line). The tests' ``test_faults.py`` runs the
same scenarios with small sizes (``make test-faults``).

    python benchmarks/faults.py                 # 1,000-row burst, 200 rows per fault burst
    python benchmarks/faults.py --rows 100 --fault-rows 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from media_analysis_fixtures.pg import Cluster
    from media_analysis_fixtures.processes import DagsterStack

TAG_REQUEST_ID = "media_analysis/request_id"
ENDED = {"completed", "failed", "cancelled"}
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
JOIN run_tags t ON t.run_id = r.run_id AND t.key = 'media_analysis/request_id'
LEFT JOIN run_tags p ON p.run_id = r.run_id AND p.key = 'dagster/parent_run_id'
WHERE t.value = ANY(%s)
GROUP BY t.value
"""


# -- helpers -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return round(ordered[rank - 1], 1)


def run_counts(stack: DagsterStack, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per request: runs launched (not retries), retries, first run's start (epoch s)."""
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(stack.settings.dagster_postgres_url, connect_timeout=10)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(RUN_COUNTS, (list(ids),))
            return {r["request_id"]: dict(r) for r in cur.fetchall()}
    finally:
        conn.close()


def wait_ended(
    stack: DagsterStack,
    ids: list[str],
    timeout: float,
    on_poll: Callable[[int], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Rows once all have ended; after ``timeout`` the rows as they are (the caller reports
    the ones still open). Database errors while PostgreSQL is down count as "not yet"."""
    from media_analysis_fixtures.processes import read_requests

    deadline = time.monotonic() + timeout
    rows: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            rows = read_requests(stack.settings.database_url, ids)
            done = sum(rows.get(i, {}).get("status") in ENDED for i in ids)
            if on_poll:
                on_poll(done)
            if done == len(ids):
                break
        time.sleep(1.0)
    return rows


def outcome(stack: DagsterStack, ids: list[str], rows: dict[str, Any]) -> dict[str, Any]:
    """Counts by status, lost rows, doubled launches and the distinct failure reasons."""
    counts = run_counts(stack, ids)
    by_status: dict[str, int] = {}
    for rid in ids:
        status = rows.get(rid, {}).get("status", "missing")
        by_status[status] = by_status.get(status, 0) + 1
    reasons = sorted(
        {
            (r["error_message"] or "NO REASON")[:160]
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
    from media_analysis_fixtures.processes import insert_pending

    inserted = insert_pending(stack.settings.database_url, count, media_path=clip)
    ids = [rid for rid, _ in inserted]
    rows = wait_ended(stack, ids, timeout)
    result = outcome(stack, ids, rows)
    counts = run_counts(stack, ids)
    pickup = [
        counts[rid]["first_start"] - created.timestamp()
        for rid, created in inserted
        if rid in counts and counts[rid]["first_start"]
    ]
    ends = [r["completed_at"].timestamp() for r in rows.values() if r["completed_at"]]
    span = max(ends) - min(c.timestamp() for _, c in inserted) if ends else float("nan")
    result.update(
        drain_s=round(span, 1),
        per_minute=round(count / span * 60, 1) if ends else None,
        pickup_p50_s=percentile(pickup, 50),
        pickup_p95_s=percentile(pickup, 95),
    )
    return result


def fault_during_burst(
    stack: DagsterStack, clip: str, count: int, fault: Callable[[], None], bound_s: float
) -> tuple[list[str], dict[str, Any]]:
    """Insert ``count`` rows, run ``fault`` once a quarter of them have ended, then wait at most
    ``bound_s`` for every row to end. Returns the ids and the outcome (with ``fault_to_end_s``)."""
    from media_analysis_fixtures.processes import insert_pending

    ids = [rid for rid, _ in insert_pending(stack.settings.database_url, count, media_path=clip)]
    wait_ended_at_least(stack, ids, max(1, count // 4))
    fault()
    faulted = time.monotonic()
    rows = wait_ended(stack, ids, bound_s)
    result = outcome(stack, ids, rows)
    result["fault_to_end_s"] = round(time.monotonic() - faulted, 1)
    return ids, result


def wait_ended_at_least(stack: DagsterStack, ids: list[str], n: int, timeout: float = 600) -> None:
    from media_analysis_fixtures.processes import read_requests, wait_until

    def check() -> bool:
        rows = read_requests(stack.settings.database_url, ids)
        return sum(r["status"] in ENDED for r in rows.values()) >= n

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
        launch_run(stack, {"media_path": clip, "source_endpoint": "graphql"}, {})
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


class TrickleServer(ThreadingHTTPServer):
    """Serves one file over ``SLOW_DOWNLOAD_S`` seconds, so runs are mid-step when killed."""

    daemon_threads = True

    def __init__(self, path: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Trickle)
        self.body = path.read_bytes()
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/slow.mp4"


class _Trickle(BaseHTTPRequestHandler):
    server: TrickleServer

    def do_GET(self) -> None:
        body, steps = self.server.body, 20
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        piece = max(1, len(body) // (steps + 1))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for i in range(steps):
                self.wfile.write(body[i * piece : (i + 1) * piece])
                self.wfile.flush()
                if self.server.closing.wait(SLOW_DOWNLOAD_S / steps):
                    return
            self.wfile.write(body[steps * piece :])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def trickle_server(path: Path) -> Iterator[TrickleServer]:
    server = TrickleServer(path)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def launch_final_attempt(stack: DagsterStack, url: str) -> str:
    """A GraphQL launch (as n8n's) tagged ``dagster/max_retries=0``: its first death is final."""
    config = {"media_url": url, "source_endpoint": "graphql"}
    return launch_run(stack, config, {"dagster/max_retries": "0"})


def launch_run(stack: DagsterStack, config: dict[str, Any], tags: dict[str, str]) -> str:
    """``launchRun`` over the webserver's GraphQL, as n8n's "Launch run" node; the run id."""
    from media_analysis_fixtures.processes import JOB, LOCATION, REPOSITORY

    config = {"prompt": "What?", "created_by": "faults", **config}
    params = {
        "selector": {
            "repositoryLocationName": LOCATION,
            "repositoryName": REPOSITORY,
            "jobName": JOB,
        },
        "runConfigData": {"ops": {"register_request": {"config": config}}},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    query = (ROOT / "docs" / "graphql" / "launch_run.graphql").read_text()
    launched = stack.graphql(query, {"executionParams": params})["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {launched}")
    return str(launched["run"]["runId"])


def started_with_worker(stack: DagsterStack, run_ids: set[str], timeout: float = 180) -> dict:
    """``request id → run`` once every run is STARTED with its worker tag (steps executing)."""
    from media_analysis_fixtures.processes import runs, wait_until

    def check() -> dict[str, Any] | None:
        stack.check_alive()
        mine = [r for r in runs(stack) if r["runId"] in run_ids]
        ready = [
            r for r in mine if r["status"] == "STARTED" and "media_analysis/run_worker" in r["tags"]
        ]
        if len(ready) < len(run_ids):
            return None
        return {r["tags"][TAG_REQUEST_ID]: r for r in ready}

    return wait_until(check, timeout=timeout, what="the slow runs to execute", interval=1.0)


def code_server_kill(stack: DagsterStack, slow_clip: Path, sensor_rows: int = 2) -> dict[str, Any]:
    """SIGKILL the code server's group while slow runs execute, restart it, time the rows."""
    from media_analysis_fixtures.processes import insert_pending, runs, wait_until

    with trickle_server(slow_clip) as server:
        final_run = launch_final_attempt(stack, server.url)
        ids = [
            r
            for r, _ in insert_pending(
                stack.settings.database_url, sensor_rows, media_url=server.url
            )
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

        rows = wait_ended(stack, all_ids, CODE_SERVER_BOUND_S + SLOW_DOWNLOAD_S + 60, note)
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
    from media_analysis_fixtures.processes import read_requests

    return {
        i
        for i, r in read_requests(stack.settings.database_url, ids).items()
        if r["status"] in ENDED
    }


def partial_files(left: list[str], step: str | None) -> list[str]:
    """Of the request's files, those the failing step half-wrote: its own folder (the failure
    hook removes it; earlier steps' outputs stay for a re-execution from failure, by design)
    and any ``.part`` file of an interrupted copy."""
    from media_analysis_dagster.ops.common import STEP_OUTPUTS

    folder = STEP_OUTPUTS.get(step or "", ("", []))[0]
    return [f for f in left if (folder and f.split("/")[1:2] == [folder]) or f.endswith(".part")]


def disk_full(stack: DagsterStack, big_clip: Path, free_bytes: int = 64 * 1024) -> dict[str, Any]:
    """A 20 MB tmpfs over ``<data dir>/requests``, filled but for ``free_bytes``; one request."""
    from media_analysis_fixtures.processes import insert_pending

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
        rows = wait_ended(stack, [rid], DISK_BOUND_S)
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


# -- the stack and the report --------------------------------------------------------------------
STACK_ENV = {
    "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
    "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "127.0.0.0/8",
    # README "Operations": so a burst of failures is reflected within about a minute.
    "DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT": "100",
    "DAGSTER_RUN_STATUS_SENSOR_FETCH_LIMIT": "200",
}


@contextlib.contextmanager
def fault_stack(base: Path) -> Iterator[tuple[DagsterStack, Cluster]]:
    """Own PostgreSQL cluster (two databases) and the three processes on it."""
    from media_analysis_fixtures import pg
    from media_analysis_fixtures.processes import DagsterStack, StackSettings

    with pg.own_cluster() as cluster:
        names = [pg.create_database(cluster.url, prefix=p) for p in ("ma_f_dagster", "ma_f")]
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(cluster.url, names[0]),
            database_url=pg.with_database(cluster.url, names[1]),
            base_dir=base / "stack",
            env=dict(STACK_ENV),
        )
        with DagsterStack(settings) as stack:
            yield stack, cluster


def clips(base: Path) -> tuple[Path, Path]:
    """A 2 s 160x120 clip (bursts, slow downloads) and a 20 s 640x360 one (disk full)."""
    from media_analysis_fixtures import make_video

    short = make_video(base / "clip.mp4", duration=2.0, size=(160, 120))
    big = make_video(base / "big.mp4", duration=20.0, size=(640, 360))
    return Path(short), Path(big)


def run_scenarios(
    stack: DagsterStack, cluster: Cluster, base: Path, rows: int, fault_rows: int
) -> dict[str, dict[str, Any]]:
    """Every scenario in order, on one stack; what each measured."""
    short, big = clips(base)
    inbox_short, inbox_big = stack.inbox / short.name, stack.inbox / big.name
    shutil.copyfile(short, inbox_short)
    shutil.copyfile(big, inbox_big)
    burst(stack, str(inbox_short), 1, 180)  # warm the code server and the page cache
    out: dict[str, dict[str, Any]] = {}
    if rows:
        out["burst"] = burst(stack, str(inbox_short), rows, 120 + rows * 6)
    out["code server kill"] = code_server_kill(stack, short)
    out["daemon kill"] = daemon_kill(stack, str(inbox_short), fault_rows)
    out["disk full (copy)"] = disk_full(stack, inbox_big)
    out["disk full (later step)"] = disk_full(stack, inbox_big, inbox_big.stat().st_size + 65536)
    # Last: what a restart leaves behind (stale pooled connections) must not spoil the others.
    out["postgres restart"] = postgres_restart(stack, cluster, str(inbox_short), fault_rows)
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| scenario | rows | end states | launched twice | lost | retries | time | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        states = ", ".join(f"{k} {v}" for k, v in sorted(r.get("status", {}).items()))
        lost = r.get("not_ended", 0) + r.get("never_launched", 0)
        if name == "burst":
            time_s = f"{r['drain_s']} s ({r['per_minute']}/min)"
            notes = f"pickup p50 {r['pickup_p50_s']} s, p95 {r['pickup_p95_s']} s"
        elif name == "code server kill":
            time_s = f"kill → failed {r['kill_to_failed_s']} s; all ended {r['fault_to_end_s']} s"
            notes = f"restart {r['restart_s']} s; final attempt: {r['final_reason']}"
        elif name.startswith("disk full"):
            time_s = f"{r.get('to_end_s')} s"
            notes = r.get("skipped") or (
                f"step {r['step']}: {r['reason']} ({r['error_type']}); partial files left: "
                f"{len(r['partial_left'])}; other files kept: {len(r['files_left'])}"
            )
        else:
            time_s = f"fault → all ended {r['fault_to_end_s']} s"
            notes = "; ".join(r.get("reasons", [])) or "-"
            if "after_restart" in r:
                notes = (
                    f"first GraphQL launch after restart: {r['graphql_launch_after_restart']}; "
                    f"3 new rows after restart: {r['after_restart']}; failed rows: {notes}"
                )
        lines.append(
            f"| {name} | {r['rows']} | {states or '-'} | {r.get('launched_twice', '-')} | "
            f"{lost} | {r.get('retries', '-')} | {time_s} | {notes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000, help="rows of the plain burst")
    parser.add_argument("--fault-rows", type=int, default=200, help="rows per fault burst")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir and logs")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ma-faults-"))
    started = time.monotonic()
    try:
        with fault_stack(base) as (stack, cluster):
            results = run_scenarios(stack, cluster, base, args.rows, args.fault_rows)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(results, default=str))
    else:
        print(table(results))
        print(f"\n(total {time.monotonic() - started:.0f} s; logs: {base / 'stack' / 'logs'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
