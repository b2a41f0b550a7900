"""Connecting retries with backoff while PostgreSQL is briefly unreachable."""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlparse

import pytest
from sqlalchemy.exc import OperationalError

from media_analysis_dagster.db.engine import build_engine, wait_until_reachable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _forward_after(
    delay: float, listen_port: int, target: tuple[str, int], stop: threading.Event
) -> None:
    """A TCP forwarder to the real server that starts listening only after ``delay``."""
    time.sleep(delay)
    server = socket.create_server(("127.0.0.1", listen_port))
    server.settimeout(0.2)

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    while not stop.is_set():
        try:
            client, _ = server.accept()
        except TimeoutError:
            continue
        upstream = socket.create_connection(target)
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    server.close()


def test_connect_waits_for_a_server_that_comes_up(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    parsed = urlparse(pg_url)
    port = _free_port()
    stop = threading.Event()
    thread = threading.Thread(
        target=_forward_after,
        args=(1.0, port, (parsed.hostname or "127.0.0.1", parsed.port or 5432), stop),
        daemon=True,
    )
    thread.start()
    url = pg_url.replace(f"{parsed.hostname}:{parsed.port or 5432}", f"127.0.0.1:{port}")
    engine = build_engine(url)
    try:
        with caplog.at_level(logging.WARNING, logger="media_analysis_dagster.db.engine"):
            started = time.monotonic()
            wait_until_reachable(engine, attempts=8, base_delay=0.3)
        assert time.monotonic() - started >= 0.9
        assert any("database unreachable" in r.message for r in caplog.records)
    finally:
        engine.dispose()
        stop.set()
        thread.join(5)


def test_connect_gives_up_after_the_last_attempt() -> None:
    engine = build_engine(f"postgresql://nobody@127.0.0.1:{_free_port()}/none")
    started = time.monotonic()
    with pytest.raises(OperationalError):
        wait_until_reachable(engine, attempts=3, base_delay=0.1)
    assert time.monotonic() - started < 5
