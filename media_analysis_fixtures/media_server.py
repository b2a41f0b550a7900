"""Small real HTTP servers on 127.0.0.1 serving media: with redirects and failures
(`media_server`), or trickled slowly (`trickling_server`).

The fetch step downloads through ``net/`` for real (address vetting, redirects followed by
hand, retries of 5xx), so tests serve files from a real socket rather than faking the client;
``hits`` shows what the client really asked for. A trickled download keeps a run inside
``fetch_media`` for a known time, so a test or a fault benchmark can cancel or kill it there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class MediaServer:
    """What the server serves (files under ``root``), how it misbehaves, and what it saw."""

    root: Path
    url: str = ""
    redirects: dict[str, str] = field(default_factory=dict)
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> number of 500s
    hits: list[str] = field(default_factory=list)


@contextmanager
def media_server(root: Path) -> Iterator[MediaServer]:
    """Serve ``root`` on a free port of 127.0.0.1 for the block (``state.url``); a path in
    ``redirects`` answers 302, one in ``fail_next`` answers 500 that many times first."""
    state = MediaServer(root)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.hits.append(self.path)
            if self.path in state.redirects:
                self.send_response(302)
                self.send_header("Location", state.redirects[self.path])
                self.end_headers()
                return
            if state.fail_next.get(self.path, 0) > 0:
                state.fail_next[self.path] -= 1
                self.send_error(500)
                return
            target = state.root / self.path.lstrip("/")
            if not target.is_file():
                self.send_error(404)
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class TricklingServer(ThreadingHTTPServer):
    """Serves the files of ``root``: ``/media/<name>`` at once, ``/slow/<name>`` trickled in
    ``steps`` pieces over ``slow_s`` seconds (stopping early when the server shuts down), so a
    run is reliably mid-download when a test or benchmark kills or cancels it."""

    daemon_threads = True

    def __init__(self, root: Path, slow_s: float, steps: int = 24) -> None:
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        self.root, self.slow_s, self.steps = root, slow_s, steps
        self.closing = threading.Event()

    def url(self, kind: str, name: str) -> str:
        """``kind`` is ``media`` (at once) or ``slow`` (trickled)."""
        return f"http://127.0.0.1:{self.server_address[1]}/{kind}/{name}"


class _TrickleHandler(BaseHTTPRequestHandler):
    server: TricklingServer

    def do_GET(self) -> None:
        kind, _, name = self.path.strip("/").partition("/")
        path = self.server.root / Path(name).name
        if kind not in {"media", "slow"} or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "media":
            self.wfile.write(body)
            return
        # A run worker killed mid-download closes the connection: expected here.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._trickle(body)

    def _trickle(self, body: bytes) -> None:
        steps = self.server.steps
        piece = max(1, len(body) // (steps + 1))
        for i in range(steps):
            self.wfile.write(body[i * piece : (i + 1) * piece])
            self.wfile.flush()
            if self.server.closing.wait(self.server.slow_s / steps):
                return
        self.wfile.write(body[steps * piece :])

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def trickling_server(root: Path, slow_s: float, steps: int = 24) -> Iterator[TricklingServer]:
    """A `TricklingServer` on a free port of 127.0.0.1 for the block; on exit, trickles in
    progress stop and the server's thread is joined."""
    server = TricklingServer(root, slow_s, steps)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    thread.start()
    try:
        yield server
    finally:
        server.closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
