"""Benchmark: faults under load, with the three production processes on PostgreSQL.

Starts its OWN throwaway PostgreSQL (initdb/pg_ctl on a free port under a temp dir, never the
machine's shared server), the code server, webserver and daemon
(``media_analysis_fixtures/stack.py``, root ``dagster.yaml``), then, one after another:

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

Prints a markdown table (``--json`` for one JSON line). The scenarios are in
``fault_scenarios.py``; the tests' ``test_faults.py`` runs them with small sizes
(``make test-faults``).

    python -m benchmarks.faults                 # 1,000-row burst, 200 rows per fault burst
    python -m benchmarks.faults --rows 100 --fault-rows 30
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.fault_scenarios import (
    burst,
    code_server_kill,
    daemon_kill,
    disk_full,
    postgres_restart,
)

if TYPE_CHECKING:
    from media_analysis_fixtures.pg import Cluster
    from media_analysis_fixtures.stack import DagsterStack

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
    from media_analysis_fixtures.stack import DagsterStack, StackSettings

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
