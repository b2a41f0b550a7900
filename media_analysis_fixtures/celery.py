"""The Celery deployment (``deploy/celery/``) for real: a throwaway Redis broker, Celery worker
processes that stand in for worker hosts, and the three Dagster processes launching into them.

- ``RedisBroker``: ``redis-server`` on a free port with no persistence (``--save ''
  --appendonly no``), so a restart loses every queued message and task state, the worst case.
  Tests restart *this* one, never the machine's shared Redis or RabbitMQ.
- ``CeleryWorker``: ``dagster-celery worker start`` exactly as ``deploy/celery/commands.sh
  worker`` runs it, from its own directory with its own ``DAGSTER_HOME`` (a copy of
  ``deploy/celery/dagster.yaml``), scratch data dir and ``TMPDIR``: a host that shares no disk
  with the others. It runs in its own session, so ``kill()`` takes down the whole worker (main
  process and pool), as a host failure would.
- ``CeleryStack``: the broker, ``stack.DagsterStack`` with the Celery instance (webserver,
  daemon and code server; the code server no longer runs requests) and the workers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .processes import BIN, ROOT, Process, clean_environ, free_port, wait_until
from .stack import DagsterStack, StackSettings, merge

CELERY_DIR = ROOT / "deploy" / "celery"
INSTANCE = CELERY_DIR / "dagster.yaml"
WORKER_CONFIG = CELERY_DIR / "worker.yaml"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def have_redis_server() -> bool:
    """Whether a ``redis-server`` binary is here (tests skip without one, and fail under CI)."""
    return Path(REDIS_SERVER).is_file()


def celery_instance() -> dict[str, Any]:
    """``deploy/celery/dagster.yaml`` as a mapping."""
    return dict(yaml.safe_load(INSTANCE.read_text()))


class RedisBroker:
    """A ``redis-server`` of our own on a free 127.0.0.1 port, restartable on the same port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        base.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def backend_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/1"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.base)]
        with open(self.base / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(self.ping, timeout=20, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        """SIGKILL: nothing is saved (as a crash or an unpersisted restart loses it)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_s: float = 2.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)


@contextlib.contextmanager
def redis_broker(base: Path) -> Iterator[RedisBroker]:
    broker = RedisBroker(base)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class CeleryWorker:
    """One worker "host": its own directory, ``DAGSTER_HOME``, scratch and environment."""

    name: str
    base: Path
    env: dict[str, str]
    concurrency: int = 1
    process: Process | None = None
    node: str = field(init=False)

    def __post_init__(self) -> None:
        self.node = f"{self.name}@{socket.gethostname()}"
        self.home = self.base / "dagster_home"
        self.data_dir = self.base / "scratch"

    def command(self) -> list[str]:
        """``deploy/celery/commands.sh worker``'s command line."""
        return [
            str(BIN / "dagster-celery"),
            "worker",
            "start",
            "-A",
            "dagster_celery.app",
            "-y",
            str(WORKER_CONFIG),
            "-n",
            self.name,
            "-i",
            "media_analysis_dagster.definitions",
            "--",
            "--concurrency",
            str(self.concurrency),
        ]

    def start(self, timeout: float = 120.0) -> None:
        for d in (self.home, self.data_dir, self.base / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(INSTANCE, self.home / "dagster.yaml")
        env = {
            **self.env,
            "DAGSTER_HOME": str(self.home),
            "MEDIA_ANALYSIS_DATA_DIR": str(self.data_dir),
            "TMPDIR": str(self.base / "tmp"),
            # dagster-celery runs ``celery`` by name: the venv's bin must come first on PATH.
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        }
        log = self.base / "worker.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                self.command(),
                env=clean_environ(env),
                cwd=str(self.base),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.process = Process(self.name, popen, log)
        wait_until(self._ready, timeout=timeout, what=f"Celery worker {self.name} to be ready")

    def _ready(self) -> bool:
        assert self.process is not None
        if not self.process.alive():
            raise AssertionError(f"worker {self.name} exited:\n{self.process.tail(40)}")
        return f"{self.node} ready." in self.process.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def kill(self) -> None:
        """SIGKILL to the whole worker (main process and pool): a host that dies."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace_s=10.0)

    def tail(self, lines: int = 30) -> str:
        return self.process.tail(lines) if self.process else ""


@dataclass
class CeleryStackSettings:
    """The databases, the directories and the application environment of every process."""

    dagster_postgres_url: str
    database_url: str
    base_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 3
    concurrency: int = 1
    instance_overrides: Mapping[str, Any] | None = None


class CeleryStack:
    """Broker, webserver + daemon + code server on the Celery instance, and ``workers``
    worker "hosts"; started in that order, stopped in reverse."""

    def __init__(self, settings: CeleryStackSettings) -> None:
        self.settings = settings
        self.broker = RedisBroker(settings.base_dir / "broker")
        self.workers: list[CeleryWorker] = []
        instance = celery_instance()
        if settings.instance_overrides:
            instance = merge(instance, settings.instance_overrides)
        self.instance = instance
        self.stack = DagsterStack(
            StackSettings(
                dagster_postgres_url=settings.dagster_postgres_url,
                database_url=settings.database_url,
                base_dir=settings.base_dir / "control",
                env={**self.celery_env(), **settings.env},
                instance_overrides=instance,
            )
        )

    def celery_env(self) -> dict[str, str]:
        return {
            "CELERY_BROKER_URL": self.broker.url,
            "CELERY_RESULT_BACKEND": self.broker.backend_url,
        }

    def worker_env(self) -> dict[str, str]:
        s = self.settings
        return {
            "DAGSTER_POSTGRES_URL": s.dagster_postgres_url,
            "MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES": "1",
            "MEDIA_ANALYSIS_DATABASE_URL": s.database_url,
            **self.celery_env(),
            **s.env,
        }

    def __enter__(self) -> CeleryStack:
        try:
            self.broker.start()
            self.stack.start()
            for i in range(self.settings.workers):
                self.add_worker(f"worker{i + 1}")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_worker(self, name: str) -> CeleryWorker:
        worker = CeleryWorker(
            name,
            self.settings.base_dir / "hosts" / name,
            self.worker_env(),
            self.settings.concurrency,
        )
        self.workers.append(worker)
        worker.start()
        return worker

    def restart_worker(self, name: str) -> CeleryWorker:
        """Start a worker again in the same directory (its host came back)."""
        old = self.worker(name)
        old.stop()
        old.start()
        return old

    def stop(self) -> None:
        self.stack.stop()
        for worker in self.workers:
            worker.stop()
        self.broker.stop()

    def worker(self, node: str) -> CeleryWorker:
        return next(w for w in self.workers if w.node == node or w.name == node)

    def describe(self, lines: int = 25) -> str:
        parts = [self.stack.describe(lines)]
        parts += [f"--- {w.name} ---\n{w.tail(lines)}" for w in self.workers]
        return "\n".join(parts)

    def check_alive(self) -> None:
        self.stack.check_alive()


# -- what the tests and the benchmark ask of a running Celery stack ------------------------------
def insert_requests(
    database_url: str, count: int, *, media_url: str, user_metadata: Mapping[str, Any] | None = None
) -> list[str]:
    """``count`` pending rows as n8n inserts them (one commit each), with ``user_metadata``."""
    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.store import Store

    engine = build_engine(database_url, pool_size=1, max_overflow=0)
    try:
        store = Store(engine)
        rows = [
            store.create_request(
                media_url=media_url,
                prompt="What happens in this clip?",
                user_metadata=user_metadata,
                source_endpoint="n8n",
                created_by="celery-test",
            )
            for _ in range(count)
        ]
    finally:
        engine.dispose()
    return [str(row["request_id"]) for row in rows]


def set_status(database_url: str, request_id: str, status: str) -> None:
    """A plain ``UPDATE … SET status`` (how n8n or an operator cancels a request)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE media_analysis_requests SET status = :s WHERE request_id = :i"),
                {"s": status, "i": request_id},
            )
    finally:
        engine.dispose()


def worker_of_task(workers: list[CeleryWorker], task_id: str) -> str | None:
    """The name of the worker whose log says it received Celery task ``task_id``."""
    needle = f"[{task_id}] received"
    for worker in workers:
        if worker.process and needle in worker.process.log.read_text(errors="replace"):
            return worker.name
    return None


class CallbackReceiver:
    """An HTTP receiver of completion callbacks on 127.0.0.1 that answers 200 and records the
    delivery id (``X-Media-Analysis-Delivery``) and JSON body of every POST."""

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.posts: list[tuple[str, dict[str, Any]]] = []
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.append((self.headers.get("X-Media-Analysis-Delivery", ""), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliveries(self, request_id: str) -> list[str]:
        return [delivery for delivery, _ in self.posts if delivery.startswith(f"{request_id}:")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
