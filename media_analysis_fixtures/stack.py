"""The three production processes of a single host — code server, webserver, daemon — for real.

Used by the integration tests and the drain and fault benchmarks. The processes run exactly as
``deploy/commands.sh`` starts them (same commands, same workspace shape as
``deploy/workspace.grpc.yaml``, a copy of the root ``dagster.yaml`` as the instance) except for
ports and the temporary ``DAGSTER_HOME``:

- ``init`` first, as ``commands.sh init`` does (``media-analysis db init`` and
  ``dagster instance migrate``): the three processes would otherwise race to create Dagster's
  tables in the fresh database.
- Each process runs in its own session (``processes.py``), so stopping or killing one also
  stops what it spawned; every wait is bounded and fails with the tails of the logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .graphql import LOCATION, GraphQLClient
from .processes import (
    BIN,
    ROOT,
    Process,
    ProcessDied,
    clean_environ,
    free_port,
    start_process,
    wait_until,
)


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
    daemon: bool = True
    """False: no daemon, so launched runs stay QUEUED (tests of what a launch answers, which
    must not have runs start and fail behind them)."""


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
        if s.daemon:
            self._start_daemon(ws)
        self._wait(self._location_loaded, "the webserver to serve the code location")
        if s.daemon:
            self._wait(self._daemons_healthy, "the daemon's heartbeats")

    def _start_daemon(self, ws: str) -> None:
        s = self.settings
        daemon = [str(BIN / "dagster-daemon"), "run", "-w", ws]
        if s.sensor_loop_s is not None:
            patch = (
                "import sys, dagster._daemon.sensor as sensor_daemon; "
                f"sensor_daemon.MIN_INTERVAL_LOOP_TIME = {float(s.sensor_loop_s)!r}; "
                "from dagster._daemon.cli import main; sys.argv[0] = 'dagster-daemon'; main()"
            )
            daemon = [sys.executable, "-c", patch, "run", "-w", ws]
        self.processes.append(start_process("daemon", daemon, self.env, self.logs))

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

    # -- GraphQL (``graphql.py``) ----------------------------------------------------------------
    @property
    def client(self) -> GraphQLClient:
        """A client of the webserver's port (a test may choose the port before ``start``)."""
        return GraphQLClient(f"http://127.0.0.1:{self.web_port}/graphql")

    @property
    def graphql_url(self) -> str:
        return self.client.url

    def post_graphql(self, body: Mapping[str, Any], timeout: float = 30) -> dict[str, Any]:
        """POST a JSON body to ``/graphql`` as any HTTP client (n8n's HTTP node) would."""
        return self.client.post(body, timeout)

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """The ``data`` of a query; GraphQL-level errors raise."""
        return self.client.graphql(query, variables, timeout)
