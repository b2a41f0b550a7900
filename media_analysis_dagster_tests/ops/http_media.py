"""A small real HTTP server on 127.0.0.1 serving test media, redirects and failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class MediaServer:
    root: Path
    url: str = ""
    redirects: dict[str, str] = field(default_factory=dict)
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> number of 500s
    hits: list[str] = field(default_factory=list)


@contextmanager
def media_server(root: Path) -> Iterator[MediaServer]:
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
