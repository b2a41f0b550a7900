"""Benchmark: the Celery deployment (``deploy/celery/``) with 1, 2 and 3 workers, what each
request costs the shared parts, and a projection to 10 and 100 workers.

Everything is its own: a throwaway PostgreSQL cluster with ``pg_stat_statements`` (both
databases), a throwaway ``redis-server`` (broker and result backend), moto's S3 server behind a
counter of requests and bytes, the webserver, daemon and code server, and N Celery workers of
one process each (``media_analysis_fixtures/celery.py``). For each N, a fresh stack with
``max_concurrent_runs: N`` first idles (the baseline every part pays without requests), then
drains ``--rows`` pending rows of one generated clip uploaded to the bucket's inbox:

- throughput: requests per minute, first insert → last ``completed_at``;
- per request: PostgreSQL statements (``pg_stat_statements``) and rows written
  (``pg_stat_database`` inserts + updates + deletes), ours and Dagster's apart; peak
  connections per database; broker commands and bytes (Redis ``INFO``); object-storage
  requests and bytes (the counter); CPU-seconds of every process tree (``/proc``: workers,
  daemon, code server, webserver, PostgreSQL, Redis) and per minute of video.

Then ``celery_executor`` (a Celery task per step) against one run in one process, on ten
trivial steps. What the figures say: ``deploy/celery/README.md`` ("How far it goes").

    python -m benchmarks.scale                          # 1 2 3 workers, 12 rows of a 30 s clip
    python -m benchmarks.scale --workers 1 --rows 4 --clip-s 10 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
from dagster import In, Nothing, Out, in_process_executor, job, op
from dagster_celery import celery_executor

from benchmarks._common import wait_ended

TICK = os.sysconf("SC_CLK_TCK")
IDLE_S = 30.0


# -- counters ------------------------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def tree_cpu_s(pid: int) -> float:
    """CPU-seconds of a process tree: each live process's own and its reaped children's (a
    Celery pool process that exited after its run counts in its parent's)."""
    from media_analysis_fixtures.processes import descendants

    fields = [_stat(p) for p in (pid, *descendants(pid))]
    return sum(int(f[i]) for f in fields if f for i in (11, 12, 13, 14)) / TICK


class S3Counter:
    """moto's S3 API (``ThreadedMotoServer``'s app) behind a WSGI counter."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = {}
        self.bytes_in = self.bytes_out = 0
        self._lock = threading.Lock()

    def wrap(self, app: Any) -> Any:
        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            method, size = environ["REQUEST_METHOD"], int(environ.get("CONTENT_LENGTH") or 0)
            body = list(app(environ, start_response))
            with self._lock:
                self.requests[method] = self.requests.get(method, 0) + 1
                self.bytes_in += size
                self.bytes_out += sum(len(chunk) for chunk in body)
            return body

        return counted

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "in": self.bytes_in, "out": self.bytes_out}


@contextlib.contextmanager
def counted_s3() -> Iterator[tuple[Any, S3Counter]]:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from media_analysis_fixtures.object_servers import S3Server

    counter = S3Counter()
    server = make_server(
        "127.0.0.1", 0, counter.wrap(DomainDispatcherApplication(create_backend_app)), True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s3 = S3Server(endpoint_url=f"http://127.0.0.1:{server.server_address[1]}")
        s3.create_bucket(s3.bucket)
        yield s3, counter
    finally:
        server.shutdown()


def pg_counters(admin_url: str) -> dict[str, dict[str, float]]:
    """Per database: statements and rows they returned (pg_stat_statements), commits and rows
    written (pg_stat_database)."""
    out: dict[str, dict[str, float]] = {}
    with contextlib.closing(psycopg2.connect(admin_url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT datname, xact_commit, tup_inserted + tup_updated + tup_deleted "
            "FROM pg_stat_database WHERE datname LIKE 'ma_s_%'"
        )
        for name, commits, written in cur.fetchall():
            out[name] = {"commits": commits, "written": written, "statements": 0}
        cur.execute(
            "SELECT d.datname, sum(s.calls) FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname LIKE 'ma_s_%' GROUP BY 1"
        )
        for name, calls in cur.fetchall():
            out[name]["statements"] = float(calls)
    return out


def connections(admin_url: str) -> dict[str, int]:
    with contextlib.closing(psycopg2.connect(admin_url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname LIKE 'ma_s_%' GROUP BY 1"
        )
        return {name: int(n) for name, n in cur.fetchall()}


class PeakConnections(threading.Thread):
    """The most connections each database had, sampled every 0.5 s."""

    def __init__(self, admin_url: str) -> None:
        super().__init__(daemon=True)
        self.admin_url, self.done = admin_url, threading.Event()
        self.peak: dict[str, int] = {}

    def run(self) -> None:
        while not self.done.wait(0.5):
            with contextlib.suppress(Exception):
                for name, n in connections(self.admin_url).items():
                    self.peak[name] = max(self.peak.get(name, 0), n)


def redis_counters(broker: Any) -> dict[str, float]:
    info = broker.client().info("stats")
    keys = {"commands": "commands_processed", "in": "net_input_bytes", "out": "net_output_bytes"}
    return {name: info[f"total_{key}"] for name, key in keys.items()}


# -- one round: N workers ------------------------------------------------------------------------
def snapshot(celery: Any, cluster: Any, s3: S3Counter) -> dict[str, Any]:
    stack = celery.stack
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    cpu = {
        name: tree_cpu_s(stack.process(name).pid) for name in ("code-server", "webserver", "daemon")
    }
    cpu["workers"] = sum(tree_cpu_s(w.process.pid) for w in celery.workers)
    cpu["redis"] = tree_cpu_s(celery.broker.process.pid)
    cpu["postgres"] = tree_cpu_s(postmaster)
    cpu["bench (moto S3)"] = tree_cpu_s(os.getpid())
    return {
        "t": time.monotonic(),
        "pg": pg_counters(cluster.url),
        "redis": redis_counters(celery.broker),
        "s3": s3.snapshot(),
        "cpu": cpu,
    }


def delta(a: dict[str, Any], b: dict[str, Any], per: float) -> dict[str, Any]:
    """What happened between two snapshots, divided by ``per`` (requests, or seconds)."""
    out: dict[str, Any] = {
        "cpu_s": {k: round((b["cpu"][k] - v) / per, 3) for k, v in a["cpu"].items()}
    }
    for name, values in b["pg"].items():
        kind = "dagster" if "dagster" in name else "tables"
        out[f"pg_{kind}"] = {
            k: round((v - a["pg"].get(name, {}).get(k, 0)) / per, 1) for k, v in values.items()
        }
    out["redis"] = {k: round((b["redis"][k] - v) / per, 1) for k, v in a["redis"].items()}
    reqs = {m: n - a["s3"]["requests"].get(m, 0) for m, n in b["s3"]["requests"].items()}
    out["s3"] = {
        "requests": {m: round(n / per, 1) for m, n in reqs.items() if n},
        "bytes_in": round((b["s3"]["in"] - a["s3"]["in"]) / per),
        "bytes_out": round((b["s3"]["out"] - a["s3"]["out"]) / per),
    }
    return out


def one_round(
    workers: int, args: argparse.Namespace, cluster: Any, s3: Any, counter: S3Counter, base: Path
) -> dict[str, Any]:
    from media_analysis_fixtures import pg
    from media_analysis_fixtures.celery import CeleryStack, CeleryStackSettings, insert_requests

    names = [pg.create_database(cluster.url, prefix=f"ma_s_{p}") for p in ("dagster", "tables")]
    settings = CeleryStackSettings(
        dagster_postgres_url=pg.with_database(cluster.url, names[0]),
        database_url=pg.with_database(cluster.url, names[1]),
        base_dir=base / f"n{workers}",
        env={
            "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            **({"MEDIA_ANALYSIS_WHISPER_MODEL": "off"} if args.whisper_off else {}),
            **s3.env(),
        },
        workers=workers,
        instance_overrides={"concurrency": {"runs": {"max_concurrent_runs": workers}}},
    )
    try:
        with CeleryStack(settings) as celery:
            time.sleep(5)
            idle_a = snapshot(celery, cluster, counter)
            time.sleep(IDLE_S)
            idle = delta(idle_a, snapshot(celery, cluster, counter), IDLE_S)
            idle_connections = connections(cluster.url)
            peak = PeakConnections(cluster.url)
            peak.start()
            before = snapshot(celery, cluster, counter)
            ids = insert_requests(settings.database_url, args.rows, media_url=args.clip_url)
            rows = wait_ended(settings.database_url, ids, args.timeout)
            time.sleep(3)  # the last runs' teardown and statistics flush
            after = snapshot(celery, cluster, counter)
            peak.done.set()
            steps = args.executor_steps if workers == 1 else 0
            executor = executor_overhead(celery, settings, steps) if steps else None
    finally:
        for name in names:
            pg.drop_database(cluster.url, name)
    ends = [r["completed_at"].timestamp() for r in rows.values() if r.get("completed_at")]
    first = min(r["created_at"].timestamp() for r in rows.values())
    span = max(ends) - first if ends else float("nan")
    per_request = delta(before, after, args.rows)
    share = (after["t"] - before["t"]) / args.rows  # seconds of idle load each request carries
    per_request["marginal_cpu_s"] = {
        k: round(v - idle["cpu_s"][k] * share, 3) for k, v in per_request["cpu_s"].items()
    }
    per_request["cpu_s_per_video_minute"] = round(
        per_request["cpu_s"]["workers"] / (args.clip_s / 60), 1
    )
    ceiling = (os.cpu_count() or 1) * 60 / sum(per_request["cpu_s"].values())
    per_request["cpu_ceiling_per_minute"] = round(ceiling, 1)  # all parts share these cores
    return {
        "workers": workers,
        "rows": args.rows,
        "completed": [r.get("status") for r in rows.values()].count("completed"),
        "drain_s": round(span, 1),
        "per_minute": round(args.rows / span * 60, 2),
        "per_request": per_request,
        "idle_per_s": idle,
        "idle_connections": idle_connections,
        "peak_connections": peak.peak,
        "executor": executor,
    }


# -- celery_executor: a step per Celery task -----------------------------------------------------
@op(ins={"after": In(Nothing)}, out=Out(Nothing))
def tick() -> None:
    """A step that does nothing: what remains is the price of running a step."""


def _chain() -> None:
    last = tick.alias("step_0")()
    for i in range(1, STEPS):
        last = tick.alias(f"step_{i}")(after=last)


STEPS = 10


@job(executor_def=celery_executor)
def celery_chain() -> None:
    _chain()


@job(executor_def=in_process_executor)
def in_process_chain() -> None:
    _chain()


def executor_overhead(celery: Any, settings: Any, repeats: int) -> dict[str, float]:
    """``STEPS`` trivial steps as one run in one process (what each run does under the run
    launcher) and as one Celery task per step on the same worker (``celery_executor``); the best
    of ``repeats`` each. The worker imports this module (``PYTHONPATH``) and, on this one machine,
    reads the steps' outputs from the run's ``DAGSTER_HOME``: across hosts that IO manager would
    have to be shared too."""
    from dagster import DagsterInstance, execute_job, reconstructable

    os.environ["DAGSTER_POSTGRES_URL"] = settings.dagster_postgres_url
    on_celery = {"broker": celery.broker.url, "backend": celery.broker.backend_url}
    cases: tuple[tuple[str, Any, dict[str, Any]], ...] = (
        ("in_process_s", in_process_chain, {}),
        ("celery_executor_s", celery_chain, {"execution": {"config": on_celery}}),
    )
    times: dict[str, list[float]] = {key: [] for key, _, _ in cases}
    with DagsterInstance.from_config(str(celery.stack.home)) as instance:
        for _ in range(repeats):
            for key, target, run_config in cases:
                started = time.monotonic()
                with execute_job(reconstructable(target), instance, run_config=run_config) as done:
                    assert done.success, key
                times[key].append(time.monotonic() - started)
    best = {key: round(min(values), 2) for key, values in times.items()}
    best["per_step_s"] = round((best["celery_executor_s"] - best["in_process_s"]) / STEPS, 2)
    return best


# -- projection and main ---------------------------------------------------------------------------
SHARED = ("postgres", "daemon", "code-server", "redis")


def projection(results: list[dict[str, Any]], fleet: tuple[int, ...] = (10, 100)) -> dict[str, Any]:
    """Requests/s one core of each shared part sustains (1 / its marginal CPU-s per request),
    the rate ``W`` workers offer at the one-worker rate, and the connections they hold."""
    one = next(r for r in results if r["workers"] == 1)
    big = max(results, key=lambda r: r["workers"])
    per_worker_rps = one["per_minute"] / 60
    cpu = big["per_request"]["marginal_cpu_s"]
    per_core_rps = {part: round(1 / cpu[part], 2) if cpu[part] > 0 else None for part in SHARED}
    held = sum(big["peak_connections"].values()) - sum(big["idle_connections"].values())
    per_worker_conns = held / big["workers"]
    out: dict[str, Any] = {"per_worker_rps": round(per_worker_rps, 3), "per_core_rps": per_core_rps}
    for w in fleet:
        offered = w * per_worker_rps
        out[f"{w}_workers"] = {
            "offered_rps": round(offered, 2),
            "cores_needed": {p: round(offered * cpu[p], 2) for p in SHARED},
            "connections": round(sum(big["idle_connections"].values()) + w * per_worker_conns),
        }
    return out


def report(results: list[dict[str, Any]]) -> str:
    head = "| workers | rows | completed | drain s | requests/min | worker CPU-s/request |\n"
    rows = [
        f"| {r['workers']} | {r['rows']} | {r['completed']} | {r['drain_s']} | "
        f"{r['per_minute']} | {r['per_request']['cpu_s']['workers']} |"
        for r in results
    ]
    return head + "|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows)


def _with_pg_stat_statements() -> Any:
    from media_analysis_fixtures.pg import Cluster

    cluster = Cluster()
    cluster.init()
    with open(cluster.data / "postgresql.conf", "a") as conf:
        conf.write("shared_preload_libraries = 'pg_stat_statements'\n")
    cluster.start()
    with contextlib.closing(psycopg2.connect(cluster.url)) as conn:
        conn.autocommit = True
        conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return cluster


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--clip-s", type=float, default=30.0, help="length of the clip")
    parser.add_argument("--whisper-off", action="store_true", help="no local speech-to-text")
    parser.add_argument("--executor-steps", type=int, default=3, help="repeats; 0 skips it")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from media_analysis_fixtures import make_video
    from media_analysis_fixtures.object_servers import PREFIX

    with tempfile.TemporaryDirectory(prefix="ma-scale-") as tmp, counted_s3() as (s3, counter):
        base = Path(tmp)
        clip = make_video(base / "clip.mp4", duration=args.clip_s, size=(640, 360))
        client = s3.client()
        client.upload_file(str(clip), s3.bucket, f"{PREFIX}inbox/clip.mp4")
        client.close()
        args.clip_url = f"s3://{s3.bucket}/{PREFIX}inbox/clip.mp4"
        cluster = _with_pg_stat_statements()
        try:
            results = [one_round(n, args, cluster, s3, counter, base) for n in args.workers]
        finally:
            cluster.remove()
    summary = {"results": results, "projection": projection(results) if 1 in args.workers else {}}
    print(
        json.dumps(summary) if args.json else f"{report(results)}\n{json.dumps(summary, indent=1)}"
    )


if __name__ == "__main__":
    main()
