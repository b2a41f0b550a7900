"""A real n8n for tests: installed from the npm registry once, imported and started as the
README's steps say (``docs/n8n/README.md``), on 127.0.0.1 only.

- Install: ``npm install n8n@<N8N_VERSION>`` into ``~/.cache/media_analysis/n8n/<version>``
  (kept between runs), in a folder whose ``package.json`` pins ``xlsx`` to the registry's 0.18.5
  (n8n's own xlsx dependency points outside the registry). A file lock makes parallel test
  processes wait for one install instead of running two. n8n 2.8.4 is the newest 2.x whose
  ``engines`` accept Node.js 20 (2.10 and later need 22.16+).
- Each :class:`N8n` has its own ``N8N_USER_FOLDER`` (a temporary directory with the SQLite
  database and the encryption key), so tests never see a developer's n8n.
- Nothing leaves the machine: n8n listens on 127.0.0.1, diagnostics, version checks, templates
  and community packages are off, and no proxy variables are passed on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from media_analysis_fixtures.processes import Process, free_port, start_process, wait_until

N8N_VERSION = "2.8.4"
XLSX_OVERRIDE = "0.18.5"
INSTALL_TIMEOUT_S = 45 * 60.0
"""A cold install took 20 min here: 2,090 packages, and sqlite3 compiles from source (its
prebuilt binary is downloaded from outside the registry, which this workplace cannot reach)."""
START_TIMEOUT_S = 120.0
ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "docs" / "n8n"

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Variables a test's n8n may inherit; everything else (proxies, N8N_* of a developer) is dropped.
_PASSED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


def cache_root() -> Path:
    return Path.home() / ".cache" / "media_analysis" / "n8n"


def install(version: str = N8N_VERSION) -> Path:
    """The ``n8n`` executable of ``version``, installed on first use (under a lock)."""
    folder = cache_root() / version
    binary = folder / "node_modules" / ".bin" / "n8n"
    marker = folder / ".installed"
    folder.mkdir(parents=True, exist_ok=True)
    with open(cache_root() / f"{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second test process waits for the first install
        if marker.exists() and binary.exists():
            return binary
        package = {
            "name": "media-analysis-n8n-harness",
            "private": True,
            "dependencies": {"n8n": version},
            "overrides": {"xlsx": XLSX_OVERRIDE},
        }
        (folder / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        started = time.monotonic()
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            env=_base_env(),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        if done.returncode != 0 or not binary.exists():
            raise RuntimeError(f"npm install n8n@{version} failed:\n{done.stderr[-3000:]}")
        marker.write_text(f"installed in {time.monotonic() - started:.0f} s\n")
    return binary


def _base_env() -> dict[str, str]:
    return {k: os.environ[k] for k in _PASSED if k in os.environ}


class N8n:
    """One n8n instance: its CLI (import, publish) and its server (start, stop)."""

    def __init__(self, binary: Path, user_folder: Path, port: int | None = None) -> None:
        self.binary = binary
        self.user_folder = user_folder
        self.port = port or free_port()
        self.process: Process | None = None
        user_folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **_base_env(),
            "N8N_USER_FOLDER": str(user_folder),
            "N8N_ENCRYPTION_KEY": secrets.token_hex(16),
            "N8N_PORT": str(self.port),
            "N8N_HOST": "127.0.0.1",
            "N8N_LISTEN_ADDRESS": "127.0.0.1",
            "N8N_PROTOCOL": "http",
            "WEBHOOK_URL": f"http://127.0.0.1:{self.port}/",
            "DB_TYPE": "sqlite",
            "N8N_DIAGNOSTICS_ENABLED": "false",
            "N8N_PERSONALIZATION_ENABLED": "false",
            "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
            "N8N_TEMPLATES_ENABLED": "false",
            "N8N_COMMUNITY_PACKAGES_ENABLED": "false",
            "N8N_HIRING_BANNER_ENABLED": "false",
            "N8N_SECURE_COOKIE": "false",
            "EXTERNAL_FRONTEND_HOOKS_URLS": "",
            "N8N_RUNNERS_BROKER_PORT": str(free_port()),  # 5679 by default: clashes in parallel
            "N8N_GRACEFUL_SHUTDOWN_TIMEOUT": "5",  # 30 s by default: slow test teardown
            "N8N_LOG_LEVEL": "info",
            "N8N_LOG_OUTPUT": "console",
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- CLI -----------------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 180.0) -> str:
        """Run ``n8n <args>`` against this instance's user folder; its output, or an error
        with the output's tail."""
        done = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            cwd=self.user_folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"n8n {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-3000:]}"
            )
        return done.stdout + done.stderr

    # -- server --------------------------------------------------------------------------------
    def start(self) -> None:
        logs = self.user_folder / "logs"
        logs.mkdir(exist_ok=True)
        self.process = start_process("n8n", [str(self.binary), "start"], self.env, logs)

        def healthy() -> bool:
            assert self.process is not None
            if not self.process.alive():
                raise AssertionError(f"n8n exited:\n{self.process.tail(40)}")
            with _DIRECT.open(f"{self.url}/healthz/readiness", timeout=5) as response:
                return response.status == 200

        wait_until(healthy, timeout=START_TIMEOUT_S, what="n8n's /healthz/readiness", interval=0.5)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace_s=15)
            self.process = None

    def log(self, lines: int = 60) -> str:
        return self.process.tail(lines) if self.process else ""

    # -- webhooks ------------------------------------------------------------------------------
    def post(
        self, path: str, body: Any, *, timeout: float = 60.0, headers: Mapping[str, str] = {}
    ) -> tuple[int, Any]:
        """POST JSON to ``/webhook/<path>``; the status and the parsed body (raw text if the
        body is not JSON), whatever the status."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/webhook/{path}",
            data=data,
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with _DIRECT.open(request, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")


@contextlib.contextmanager
def running(n8n: N8n) -> Iterator[N8n]:
    try:
        n8n.start()
        yield n8n
    finally:
        n8n.stop()
