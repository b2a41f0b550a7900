"""Start, watch and stop real processes for tests and benchmarks (no pytest here).

The three production processes (``stack.py``), the n8n test's server and the fault scenarios
all need the same things, so they live here once:

- Each process gets its own session (process group), so stopping it also stops what it spawned
  (the code server's ``dagster api grpc`` child and the run workers under it).
- Every wait is bounded and says what it was waiting for (`wait_until`).
- The environment is this process's minus the project's and Dagster's variables
  (`clean_environ`): a process reads only what the caller passes.

Linux only: ``/proc`` is read to find a process's children (psutil is not a dependency).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from media_analysis_dagster.providers.specs import ALL_SPECS

ROOT = Path(__file__).resolve().parents[1]
"""The repository root: every process runs there (``python -m media_analysis_fixtures…`` and
``python -m benchmarks…`` find their packages from it)."""
BIN = Path(sys.executable).parent

T = TypeVar("T")

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
    """The parent of ``pid``, None once it is gone."""
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
    """``args`` in a new session from the repository root, stdout and stderr appended to
    ``<log_dir>/<name>.log``."""
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
