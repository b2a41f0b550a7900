"""A raw-socket HTTP server on 127.0.0.1 that stretches its answers, for deadline tests.

Every socket read of a client succeeds well within any per-read timeout, so only a wall-clock
deadline over the whole call ends it in time. The first path segment picks the behaviour (the
rest of the path is what the SDK appends, e.g. ``/trickle/v1/chat/completions``):

- ``/ok/...``: a complete JSON answer at once, the connection kept open for the next request;
- ``/gzip/...``: the same, gzipped (``Content-Encoding: gzip``);
- ``/trickle/...``: headers at once, then the JSON body one byte every ``TRICKLE_S``;
- ``/slowheaders/...``: the status line and headers one byte every ``TRICKLE_S``;
- ``/endless/...``: a chunked 200 whose body never ends (16 KiB every 2.5 ms, ~6 MB/s);
- ``/huge/...``: declares ``Content-Length: 10**12`` and sends a little;
- ``/silent/...``: reads the request and never answers.
"""

from __future__ import annotations

import gzip
import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

TRICKLE_S = 0.5
CHAT_COMPLETION = {
    "id": "chatcmpl-stretch",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "A slow answer."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9},
}
DEEPGRAM_LISTEN = {
    "metadata": {"request_id": "dg-stretch", "duration": 1.0, "models": ["nova-3"]},
    "results": {"channels": [{"alternatives": [{"transcript": "slow", "confidence": 0.9}]}]},
}


def _answer(path: bytes) -> bytes:
    body = DEEPGRAM_LISTEN if path.endswith(b"/listen") else CHAT_COMPLETION
    return json.dumps(body).encode()


class _Handler(socketserver.BaseRequestHandler):
    stop: threading.Event

    def _read_request(self) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            body += chunk
        return head.split(b" ", 2)[1]

    def _trickle(self, data: bytes) -> None:
        for byte in data:
            if self.stop.wait(TRICKLE_S):
                return
            self.request.sendall(bytes([byte]))

    def handle(self) -> None:
        """Answer requests on this connection; only complete answers keep it open."""
        try:
            while (path := self._read_request()) is not None:
                self._answer(path)
                if path.split(b"/")[1] not in (b"ok", b"gzip"):
                    return
        except OSError:
            pass  # the client gave up, as it should

    def _answer(self, path: bytes) -> None:
        mode = path.split(b"/")[1]
        body = _answer(path)
        ok = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if mode == b"ok":
            self.request.sendall(ok + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        elif mode == b"gzip":
            packed = gzip.compress(body)
            head = ok + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(packed)
            self.request.sendall(head + packed)
        elif mode == b"trickle":
            self.request.sendall(ok + b"Content-Length: %d\r\n\r\n" % len(body))
            self._trickle(body)
        elif mode == b"slowheaders":
            self._trickle(ok + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        elif mode == b"endless":
            self.request.sendall(ok + b"Transfer-Encoding: chunked\r\n\r\n")
            piece = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
            while not self.stop.wait(0.0025):
                self.request.sendall(piece)
        elif mode == b"huge":
            self.request.sendall(ok + b"Content-Length: %d\r\n\r\n{" % 10**12)
            self.stop.wait(10)
        else:  # silent
            self.stop.wait(30)


@contextmanager
def stretching_server() -> Iterator[str]:
    """Start the server; yields ``http://127.0.0.1:<port>``."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler, bind_and_activate=False)
    tcp.allow_reuse_address = True
    tcp.daemon_threads = True
    tcp.server_bind()
    tcp.server_activate()
    thread = threading.Thread(target=tcp.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{tcp.server_address[1]}"
    finally:
        stop.set()
        tcp.shutdown()
        tcp.server_close()
        thread.join(timeout=5)
