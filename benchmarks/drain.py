"""Benchmark: how fast pending rows become runs, and how fast a burst drains.

Starts the three production processes (``media_analysis_fixtures/stack.py``: code
server, webserver, daemon) on two fresh PostgreSQL databases, with the root ``dagster.yaml``
(optionally overridden), and measures with short generated clips (2 s, 160x120):

- **pickup latency**: rows inserted one at a time, spaced so the queue stays short; for each,
  committed row (``created_at``) → its run's ``startTime`` (``RUN_START``), split into
  row → run created (the sensor) and run created → started (queue + run worker start-up).
- **burst drain**: ``--burst`` rows in one go; requests per minute from the first insert to
  the last ``completed_at``, with the same latency figures.

Targets on the 2-core reference machine: p50 ≤ 3 s, p95 ≤ 6 s, ≥ 30 requests/min.

    python -m benchmarks.drain                                  # production dagster.yaml
    python -m benchmarks.drain --dequeue-interval 1 --dequeue-threads 4 --max-concurrent-runs 6
    python -m benchmarks.drain --unpooled-storage               # Dagster's NullPool storage
    python -m benchmarks.drain --json                           # one JSON line per setting

``--unpooled-storage`` compares with Dagster's own PostgreSQL storage, which opens a new
connection for every query (``NullPool``): about 290 connections per request here, and
PostgreSQL's backend start-ups cost a quarter of the machine's CPU during a burst. The shipped
``media_analysis_dagster.dagster_internals.instance_storage.EnvSelectedStorage`` pools them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks._common import ENDED, pending_burst, percentile, wait_ended
from media_analysis_dagster.tags import TAG_REQUEST_ID

if TYPE_CHECKING:
    from media_analysis_fixtures.stack import DagsterStack


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50), 2),
        "p95": round(percentile(values, 95), 2),
        "max": round(max(values), 2),
        "mean": round(statistics.fmean(values), 2),
    }


def alive_poll(stack: DagsterStack) -> Callable[[int], None]:
    """An ``on_poll`` for `wait_ended`: a process of the stack that exits stops the benchmark."""
    return lambda _: stack.check_alive()


def figures(stack: DagsterStack, ids: list[str], rows: dict[str, Any], timeout: float) -> dict:
    """Rows, failures and latency summaries once every row has ended (else TimeoutError)."""
    if not all(rows.get(i, {}).get("status") in ENDED for i in ids):
        raise TimeoutError(f"timed out after {timeout:g} s waiting for {len(ids)} rows to end")
    return {
        "rows": len(ids),
        "failed": sum(r["status"] != "completed" for r in rows.values()),
        **{k: summary(v) for k, v in latencies(stack, rows).items()},
    }


def latencies(stack: DagsterStack, rows: dict[str, Any]) -> dict[str, list[float]]:
    """Per request: row → run created, run created → started, row → started, run duration."""
    from media_analysis_fixtures.graphql import runs

    by_request = {r["tags"].get(TAG_REQUEST_ID): r for r in runs(stack)}
    out: dict[str, list[float]] = {"sensor": [], "queue_launch": [], "total": [], "run": []}
    for rid, row in rows.items():
        run = by_request.get(rid)
        if not run or not run["startTime"]:
            continue
        created = row["created_at"].timestamp()
        out["sensor"].append(run["creationTime"] - created)
        out["queue_launch"].append(run["startTime"] - run["creationTime"])
        out["total"].append(run["startTime"] - created)
        if run["endTime"]:
            out["run"].append(run["endTime"] - run["startTime"])
    return out


def spaced(stack: DagsterStack, clip: str, count: int, gap_s: float, timeout: float) -> dict:
    """Rows one by one, ``gap_s`` apart (the gap is staggered by a fraction of the sensor loop
    so arrivals fall at every phase of it)."""
    from media_analysis_fixtures.tables import insert_pending

    ids: list[str] = []
    for i in range(count):
        [(rid, _)] = insert_pending(stack.settings.database_url, 1, media_path=clip)
        ids.append(rid)
        if i < count - 1:
            time.sleep(gap_s + (i % 5) * 0.37)
    url = stack.settings.database_url
    rows = wait_ended(url, ids, timeout, on_poll=alive_poll(stack), interval=0.5)
    return figures(stack, ids, rows, timeout)


def drain(stack: DagsterStack, clip: str, count: int, timeout: float) -> dict:
    """``count`` rows at once: requests per minute from the first insert to the last
    ``completed_at``, with the latency figures."""
    url = stack.settings.database_url
    done = pending_burst(url, clip, count, timeout, on_poll=alive_poll(stack), interval=0.5)
    return {**done.drain(), **figures(stack, done.ids, done.rows, timeout)}


def overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    """Instance settings to change in the copy of the root dagster.yaml (None: unchanged)."""
    out: dict[str, Any] = {}
    queue: dict[str, Any] = {}
    if args.dequeue_interval is not None:
        queue["dequeue_interval_seconds"] = args.dequeue_interval
    if args.dequeue_threads:
        queue["dequeue_use_threads"] = True
        queue["dequeue_num_workers"] = args.dequeue_threads
    if queue:
        out["run_queue"] = queue
    if args.max_concurrent_runs is not None:
        out["concurrency"] = {"runs": {"max_concurrent_runs": args.max_concurrent_runs}}
    if args.unpooled_storage:
        out["storage"] = {
            "custom": {
                "module": "media_analysis_dagster.dagster_internals.instance_storage",
                "class": "EnvSelectedStorage",
                "config": {"pooled_connections": False},
            }
        }
    return out or None


def arguments() -> argparse.ArgumentParser:
    """The command line: phases and sizes, the instance settings to try, where PostgreSQL is."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaced", type=int, default=20, help="rows for the latency phase")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between spaced rows")
    parser.add_argument("--burst", type=int, default=20, help="rows inserted at once")
    parser.add_argument("--repeat", type=int, default=1, help="bursts, one after the other")
    parser.add_argument("--sensor-interval", type=int, default=2, help="seconds (env var)")
    parser.add_argument("--dequeue-interval", type=int, help="run_queue.dequeue_interval_seconds")
    parser.add_argument("--dequeue-threads", type=int, help="run_queue.dequeue_num_workers")
    parser.add_argument("--max-concurrent-runs", type=int, help="concurrency.runs limit")
    parser.add_argument(
        "--sensor-loop",
        type=float,
        help="sensor daemon loop period in seconds (patches a Dagster constant, default 5)",
    )
    parser.add_argument(
        "--unpooled-storage",
        action="store_true",
        help="Dagster's own one-connection-per-query storage, for comparison",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="per phase, seconds")
    parser.add_argument("--admin-url", help="PostgreSQL admin URL (default: as the tests)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir and logs")
    parser.add_argument("--json", action="store_true", help="print one JSON line only")
    return parser


def main() -> int:
    parser = arguments()
    args = parser.parse_args()
    from media_analysis_fixtures import make_video, pg
    from media_analysis_fixtures.stack import DagsterStack, StackSettings

    base = Path(tempfile.mkdtemp(prefix="ma-drain-"))
    clip = str(make_video(base / "clip.mp4", duration=2.0, size=(160, 120)))
    result: dict[str, Any] = {
        "setting": {
            "sensor_interval_s": args.sensor_interval,
            "sensor_loop_s": args.sensor_loop or "5 (Dagster's)",
            "instance_overrides": overrides(args) or "root dagster.yaml",
        }
    }
    with contextlib.ExitStack() as scope:
        admin = args.admin_url or scope.enter_context(pg.admin_url())
        if admin is None:
            parser.error("no PostgreSQL (set MEDIA_ANALYSIS_TEST_DATABASE_URL or start one)")
        names = [pg.create_database(admin, prefix=p) for p in ("ma_bench_dagster", "ma_bench")]
        for name in names:
            scope.callback(pg.drop_database, admin, name)
        if not args.keep:
            scope.callback(shutil.rmtree, base, ignore_errors=True)
        env = {"MEDIA_ANALYSIS_SENSOR_INTERVAL_S": str(args.sensor_interval)}
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(admin, names[0]),
            database_url=pg.with_database(admin, names[1]),
            base_dir=base / "stack",
            env=env,
            instance_overrides=overrides(args),
            sensor_loop_s=args.sensor_loop,
        )
        started = time.monotonic()
        with DagsterStack(settings) as stack:
            result["startup_s"] = round(time.monotonic() - started, 1)
            inbox_clip = stack.inbox / "clip.mp4"
            shutil.copyfile(clip, inbox_clip)
            # One run first, so the page cache and the code server are warm for both phases.
            spaced(stack, str(inbox_clip), 1, 0, args.timeout)
            if args.spaced:
                result["spaced"] = spaced(
                    stack, str(inbox_clip), args.spaced, args.gap, args.timeout
                )
            if args.burst:
                bursts = [
                    drain(stack, str(inbox_clip), args.burst, args.timeout)
                    for _ in range(max(1, args.repeat))
                ]
                result["burst"] = bursts[0]
                result["burst_per_minute"] = [b["per_minute"] for b in bursts]
                if len(bursts) > 1:
                    result["bursts"] = bursts
    result["at"] = datetime.now().isoformat(timespec="seconds")
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
        if args.keep:
            print(f"logs: {base / 'stack' / 'logs'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
