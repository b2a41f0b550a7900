"""Start the three production processes — code server, webserver, daemon — for real.

Used by the integration test (``test_integration.py``) and ``benchmarks/drain.py``, so it
imports no pytest. The processes run exactly as ``deploy/commands.sh`` starts them (same
commands, same workspace shape as ``deploy/workspace.grpc.yaml``, a copy of the root
``dagster.yaml`` as the instance) except for ports and the temporary ``DAGSTER_HOME``:

- ``init`` first, as ``commands.sh init`` does (``media-analysis db init`` and
  ``dagster instance migrate``): the three processes would otherwise race to create Dagster's
  tables in the fresh database.
- Each process gets its own session (process group), so stopping it also stops what it spawned:
  the code server's ``dagster api grpc`` child and the run workers under it.
- Every wait is bounded and says what it was waiting for, with the tails of the logs.

Linux only: ``/proc`` is read to find a process's children (psutil is not a dependency).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from media_analysis_dagster.providers.specs import ALL_SPECS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCATION = "media_analysis_dagster"
REPOSITORY = "__repository__"
JOB = "media_analysis_job"

T = TypeVar("T")

# Talk to 127.0.0.1 directly even when the shell sets http_proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Variables of the developer's shell that must not leak into the processes (same list as
# conftest._isolated_env): the stack reads only what the caller passes.
LEAKY_PREFIXES = ("MEDIA_ANALYSIS_", "DAGSTER_", "SYNC_DATABASE_URL", "DATABASE_URL")
LEAKY_NAMES = {spec.key_env for spec in ALL_SPECS.values()}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the usual bind-to-0 trick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProcessDied(RuntimeError):
    """One of the stack's processes exited: waiting any longer cannot help."""


def wait_until(
    check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25
) -> T:
    """Call ``check`` until it returns something other than None/False, at most ``timeout``
    seconds. Other exceptions count as "not yet" (a server still starting refuses connections;
    the last one is named in the TimeoutError), except ``ProcessDied`` and ``AssertionError``,
    which end the wait at once."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = check()
            if value is not None and value is not False:
                return value
        except (ProcessDied, AssertionError):
            raise
        except Exception as exc:
            last = exc
        if time.monotonic() >= deadline:
            suffix = f" (last error: {type(last).__name__}: {last})" if last else ""
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}{suffix}")
        time.sleep(interval)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may contain spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (one pass over /proc, then a walk of the tree)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_pid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (a killed child not yet reaped)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


@dataclass
class Process:
    """One started process, in its own session, logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM to the whole process group, SIGKILL to whatever is left after ``grace_s``.

        The group outlives its leader when the leader exits first (a run worker keeps going
        after its code server died), so the group is signalled even if the leader is gone.
        """
        pgid = self.popen.pid  # start_new_session: the leader's pid is the group id
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


def start_process(name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> Process:
    log = log_dir / f"{name}.log"
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            args,
            env=dict(env),
            cwd=str(ROOT),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(name, popen, log)


def clean_environ(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without the project's and Dagster's variables, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(LEAKY_PREFIXES) and k not in LEAKY_NAMES
    }
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``overrides`` merged into ``base`` key by key (nested mappings merged, the rest replaced)."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def write_instance(home: Path, overrides: Mapping[str, Any] | None = None) -> Path:
    """``home/dagster.yaml``: the root ``dagster.yaml`` byte for byte, or, with ``overrides``,
    the same settings with those keys replaced (benchmarks try other queue settings)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not overrides:
        shutil.copyfile(ROOT / "dagster.yaml", target)
    else:
        config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
        target.write_text(yaml.safe_dump(merge(config, overrides), sort_keys=False))
    return target


def write_workspace(path: Path, port: int) -> Path:
    """``deploy/workspace.grpc.yaml`` with the code server's port replaced (host from
    ``DAGSTER_CODE_SERVER_HOST``, as in production)."""
    workspace = yaml.safe_load((ROOT / "deploy" / "workspace.grpc.yaml").read_text())
    [entry] = workspace["load_from"]
    entry["grpc_server"]["port"] = port
    path.write_text(yaml.safe_dump(workspace, sort_keys=False))
    return path


@dataclass
class StackSettings:
    """What differs between a test, a benchmark and production: the databases, the scratch
    directory, the application's environment (e.g. sensor interval) and instance overrides."""

    dagster_postgres_url: str
    database_url: str
    base_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    instance_overrides: dict[str, Any] | None = None
    startup_timeout_s: float = 120.0
    sensor_loop_s: float | None = None
    """Benchmarks only: the sensor daemon's loop period, a constant (5 s) inside Dagster
    (``dagster._daemon.sensor.MIN_INTERVAL_LOOP_TIME``) that no setting reaches; when set, the
    daemon is started through a one-line wrapper that changes it. None: the real
    ``dagster-daemon`` command, as in production."""


class DagsterStack:
    """The three processes of a single host, started in order and stopped together."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        base = settings.base_dir
        self.home = base / "dagster_home"
        self.data_dir = base / "data"
        self.inbox = self.data_dir / "inbox"
        self.logs = base / "logs"
        self.code_port = free_port()
        self.web_port = free_port()
        self.processes: list[Process] = []
        self.env: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> DagsterStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        s = self.settings
        for d in (self.home, self.inbox, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        write_instance(self.home, s.instance_overrides)
        workspace = write_workspace(s.base_dir / "workspace.yaml", self.code_port)
        self.env = clean_environ(
            {
                "DAGSTER_HOME": str(self.home),
                "DAGSTER_POSTGRES_URL": s.dagster_postgres_url,
                "MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES": "1",
                "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
                "MEDIA_ANALYSIS_DATABASE_URL": s.database_url,
                "MEDIA_ANALYSIS_DATA_DIR": str(self.data_dir),
                "MEDIA_ANALYSIS_MEDIA_ROOTS": str(self.inbox),
                **s.env,
            }
        )
        self.init()
        code = start_process(
            "code-server",
            [
                str(BIN / "dagster"),
                "code-server",
                "start",
                "-m",
                "media_analysis_dagster.definitions",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.code_port),
                "--location-name",
                LOCATION,
            ],
            self.env,
            self.logs,
        )
        self.processes.append(code)
        self._wait(self._code_server_ready, "the code server to load the definitions")
        ws = str(workspace)
        web = [str(BIN / "dagster-webserver"), "-w", ws, "-h", "127.0.0.1"]
        web += ["-p", str(self.web_port)]
        self.processes.append(start_process("webserver", web, self.env, self.logs))
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", ws]
        if s.sensor_loop_s is not None:
            patch = (
                "import sys, dagster._daemon.sensor as sensor_daemon; "
                f"sensor_daemon.MIN_INTERVAL_LOOP_TIME = {float(s.sensor_loop_s)!r}; "
                "from dagster._daemon.cli import main; sys.argv[0] = 'dagster-daemon'; main()"
            )
            daemon = [sys.executable, "-c", patch, "run", "-w", ws]
        self.processes.append(start_process("daemon", daemon, self.env, self.logs))
        self._wait(self._location_loaded, "the webserver to serve the code location")
        self._wait(self._daemons_healthy, "the daemon's heartbeats")

    def init(self) -> None:
        """``deploy/commands.sh init``: the four tables, then Dagster's own storage."""
        for args in (
            [str(BIN / "media-analysis"), "db", "init"],
            [str(BIN / "dagster"), "instance", "migrate"],
        ):
            done = subprocess.run(
                args, env=self.env, cwd=str(ROOT), capture_output=True, text=True, timeout=120
            )
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(args[-3:])} failed:\n{done.stdout}{done.stderr}")

    def stop(self) -> None:
        """Stop every process (daemon first, so it launches nothing while the rest go down)."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    # -- readiness ---------------------------------------------------------------------------
    def _wait(self, check: Callable[[], Any], what: str) -> Any:
        def guarded() -> Any:
            self.check_alive()
            return check()

        try:
            return wait_until(guarded, timeout=self.settings.startup_timeout_s, what=what)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}\n{self.describe()}") from None

    def _code_server_ready(self) -> bool:
        from dagster._grpc.client import DagsterGrpcClient

        client = DagsterGrpcClient(port=self.code_port, host="127.0.0.1")
        return client.ping("ready").get("echo") == "ready"

    def _location_loaded(self) -> bool:
        data = self.graphql(
            "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
            "locationOrLoadError { __typename } } } } }",
            timeout=10,
        )
        entries = data["workspaceOrError"]["locationEntries"]
        return any(
            e["name"] == LOCATION
            and e["loadStatus"] == "LOADED"
            and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            for e in entries
        )

    def _daemons_healthy(self) -> bool:
        data = self.graphql(
            "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }",
            timeout=10,
        )
        statuses = data["instance"]["daemonHealth"]["allDaemonStatuses"]
        wanted = {"SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING", "EVENT_LOG_CONSUMER"}
        healthy = {s["daemonType"] for s in statuses if s["healthy"]}
        return wanted <= healthy

    def check_alive(self) -> None:
        dead = [p for p in self.processes if not p.alive()]
        if dead:
            names = ", ".join(f"{p.name} (exit {p.popen.returncode})" for p in dead)
            raise ProcessDied(f"process exited: {names}\n{self.describe()}")

    def describe(self, lines: int = 25) -> str:
        """The tails of all logs, for failure messages."""
        parts = [f"--- {p.name} (pid {p.pid}) ---\n{p.tail(lines)}" for p in self.processes]
        return "\n".join(parts)

    def code_server(self) -> Process:
        return next(p for p in self.processes if p.name == "code-server")

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group of ``name`` (for the code server: its gRPC child and
        every run worker too) and reap it, as an OOM kill of its container would."""
        process = self.process(name)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.popen.wait(timeout=10)

    def restart(self, name: str) -> Process:
        """Start ``name`` again with the same command and environment (whatever is left of the
        old one is stopped first), and wait until it serves again."""
        old = self.process(name)
        old.stop(grace_s=2.0)
        args = old.popen.args
        assert isinstance(args, list), "start_process passes a list"
        new = start_process(name, [str(a) for a in args], self.env, self.logs)
        self.processes[self.processes.index(old)] = new
        if name == "code-server":
            self._wait(self._code_server_ready, "the restarted code server")
            self._wait(self._location_loaded, "the webserver to reload the code location")
        return new

    # -- GraphQL -----------------------------------------------------------------------------
    @property
    def graphql_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/graphql"

    def post_graphql(self, body: Mapping[str, Any], timeout: float = 30) -> dict[str, Any]:
        """POST a JSON body to ``/graphql`` as any HTTP client (n8n's HTTP node) would."""
        request = urllib.request.Request(
            self.graphql_url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with _DIRECT.open(request, timeout=timeout) as response:
            return json.loads(response.read())

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """The ``data`` of a query; GraphQL-level errors raise."""
        try:
            reply = self.post_graphql({"query": query, "variables": variables or {}}, timeout)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"GraphQL HTTP {exc.code}: {exc.read()[:500]!r}") from exc
        if reply.get("errors"):
            raise RuntimeError(f"GraphQL errors: {reply['errors']}")
        return reply["data"]


RUNS_QUERY = """
query Runs($filter: RunsFilter, $limit: Int) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs {
      results { runId status creationTime startTime endTime tags { key value } }
    }
    ... on PythonError { message }
  }
}
"""

LOGS_QUERY = """
query RunLogs($runId: ID!, $afterCursor: String) {
  logsForRun(runId: $runId, afterCursor: $afterCursor) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events { __typename ... on MessageEvent { message timestamp } }
    }
  }
}
"""


def runs(stack: DagsterStack, tags: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Runs of ``media_analysis_job`` (newest first), optionally only those with ``tags``."""
    flt: dict[str, Any] = {"pipelineName": JOB}
    if tags:
        flt["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
    data = stack.graphql(RUNS_QUERY, {"filter": flt, "limit": 1000})["runsOrError"]
    if data["__typename"] != "Runs":
        raise RuntimeError(f"runsOrError: {data}")
    out = data["results"]
    for run in out:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return out


def run_messages(stack: DagsterStack, run_id: str, max_pages: int = 50) -> list[str]:
    """Every event message of a run, oldest first (paged, at most ``max_pages`` pages)."""
    messages: list[str] = []
    cursor: str | None = None
    for _ in range(max_pages):
        data = stack.graphql(LOGS_QUERY, {"runId": run_id, "afterCursor": cursor})["logsForRun"]
        if data["__typename"] != "EventConnection":
            raise RuntimeError(f"logsForRun: {data}")
        messages += [e.get("message") or "" for e in data["events"]]
        cursor = data["cursor"]
        if not data["hasMore"]:
            break
    return messages


def run_worker_pid(stack: DagsterStack, run_id: str) -> int | None:
    """The pid of the run's worker, from the event the code server's subprocess reports first
    ("Started process for run (pid: N)."); only if it is a live descendant of our code server,
    so a recycled pid of some other process is never returned."""
    prefix = "Started process for run (pid: "
    pids = [
        int(m[len(prefix) :].split(")", 1)[0])
        for m in run_messages(stack, run_id)
        if m.startswith(prefix)
    ]
    if not pids:
        return None
    pid = pids[-1]
    if pid in descendants(stack.code_server().pid) and pid_alive(pid):
        return pid
    return None


# -- the tables, as n8n's PostgreSQL node sees them ---------------------------------------------
INSERT_PENDING = """
INSERT INTO media_analysis_requests
  (media_type, media_url, media_path, prompt, source_endpoint, created_by)
VALUES ('auto', %s, %s, %s, 'n8n', 'integration-test')
RETURNING request_id::text, created_at
"""

READ_REQUESTS = """
SELECT r.request_id::text, r.status, r.created_at, r.started_at, r.completed_at,
       r.error_message, r.error_details,
       (SELECT count(*) FROM media_analysis_results x WHERE x.request_id = r.request_id)
         AS result_count
FROM media_analysis_requests r
WHERE r.request_id::text = ANY(%s)
"""


def insert_pending(
    database_url: str,
    count: int,
    *,
    media_path: str | None = None,
    media_url: str | None = None,
    prompt: str = "What happens in this clip?",
) -> list[tuple[str, Any]]:
    """Insert ``count`` pending rows the way n8n's "Insert pending row" node does (one plain
    ``INSERT``, committed per row); returns ``(request_id, created_at)`` pairs."""
    import psycopg2

    out: list[tuple[str, Any]] = []
    conn = psycopg2.connect(database_url, connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for _ in range(count):
                cur.execute(INSERT_PENDING, (media_url, media_path, prompt))
                out.append(cur.fetchone())
    finally:
        conn.close()
    return out


def read_requests(database_url: str, request_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows (status, times, error, number of results) by request id."""
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(database_url, connect_timeout=10)
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(READ_REQUESTS, (list(request_ids),))
            return {row["request_id"]: dict(row) for row in cur.fetchall()}
    finally:
        conn.close()
