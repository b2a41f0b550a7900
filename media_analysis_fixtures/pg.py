"""Find or start a real PostgreSQL for the tests.

Order: ``MEDIA_ANALYSIS_TEST_DATABASE_URL``; the server on 127.0.0.1:5432 if one answers; a
throwaway cluster made with the machine's ``initdb``/``pg_ctl`` (as the ``postgres`` user when
running as root, since PostgreSQL refuses to run as root). Under ``CI=true`` no PostgreSQL is a
failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from psycopg2 import sql

from .processes import free_port

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except psycopg2.Error:
        return False


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    return None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """initdb + pg_ctl start in a temp dir; yields an admin URL; stops and removes it."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("no initdb/pg_ctl on this machine")
    base = Path(tempfile.mkdtemp(prefix="ma-pg-"))
    data, port = base / "data", free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*prefix, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def admin_url() -> Iterator[str | None]:
    """An admin URL of a running server, or None when there is none to be had."""
    url = os.environ.get("MEDIA_ANALYSIS_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _answers(LOCAL_URL):
        yield LOCAL_URL
        return
    try:
        with throwaway_cluster() as started:
            yield started
    except (RuntimeError, subprocess.CalledProcessError, OSError):
        yield None


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def create_database(admin: str, *, template: str | None = None, prefix: str = "ma_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            cur.execute(query)
    finally:
        conn.close()
    return name


def drop_database(admin: str, name: str) -> None:
    conn = psycopg2.connect(admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()


class Cluster:
    """A throwaway PostgreSQL server that can be stopped and started again (the fault
    benchmarks restart it under load). Never the machine's shared server: its own data directory
    in a temp dir, its own free port, started as ``postgres`` when running as root."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("no initdb/pg_ctl on this machine")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.base = Path(tempfile.mkdtemp(prefix="ma-pg-"))
        self.data, self.port = self.base / "data", free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def init(self, max_connections: int = 300) -> None:
        subprocess.run(
            [*self.prefix, self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nmax_connections = {max_connections}\n")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        self._ctl("-w", "-l", str(self.base / "log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends every session at once, as a restart by an operator does; ``immediate``
        is a crash (recovery on the next start)."""
        self._ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


@contextmanager
def own_cluster(max_connections: int = 300) -> Iterator[Cluster]:
    """A started ``Cluster``; stopped and deleted afterwards."""
    cluster = Cluster()
    try:
        cluster.init(max_connections)
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
