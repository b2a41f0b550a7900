"""A local HTTP server that speaks the provider APIs we use, for tests and ``make dev``.

Every provider lives under its own path prefix on one server, so each base URL points at its
own prefix and the server knows which provider was called::

    openai     {url}/openai/v1                 POST /chat/completions, /audio/transcriptions
    groq       {url}/groq/openai/v1            (same routes)
    minimax    {url}/minimax/v1                (same routes; content starts with <think>…)
    anthropic  {url}/anthropic/v1              (same routes)
    google     {url}/google/v1beta/openai      (same routes)
    deepgram   {url}/deepgram                  POST /v1/listen

Routes are named ``chat``, ``transcriptions`` and ``listen``. Per provider and route a test can
queue scripted responses (status, Retry-After, malformed body, dropped connection); when the
queue is empty the call succeeds. Every request is recorded with all its headers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import responses
from .records import FakeResponse, RecordedRequest, parse_multipart

PROVIDER_PREFIXES: dict[str, str] = {
    "openai": "/openai/v1",
    "groq": "/groq/openai/v1",
    "minimax": "/minimax/v1",
    "anthropic": "/anthropic/v1",
    "google": "/google/v1beta/openai",
    "deepgram": "/deepgram",
}
ROUTES = {"/chat/completions": "chat", "/audio/transcriptions": "transcriptions"}
DEEPGRAM_ROUTES = {"/v1/listen": "listen"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        body = self._read_body()
        fake = self.server.fake
        parts = urlsplit(self.path)
        provider, route = fake.resolve(parts.path)
        req = RecordedRequest(
            method=self.command,
            path=parts.path,
            provider=provider,
            route=route,
            headers={k.lower(): v for k, v in self.headers.items()},
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            body_size=len(body),
        )
        ctype = self.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            req.json = json.loads(body or b"null")
        elif ctype.startswith("multipart/form-data"):
            req.form, req.files = parse_multipart(ctype, body)
        fake.record(req)
        if provider is None or route is None:
            self._send(404, {"error": {"message": f"no fake route for {parts.path}"}})
            return
        time.sleep(fake.latency(provider))
        scripted = fake.next_response(provider, route)
        if scripted is not None:
            time.sleep(scripted.delay)
            if scripted.drop:
                self.close_connection = True  # close without a status line
                return
            if scripted.malformed:
                self._send(200, b'{"id": "broken", "choices": [', {"x-request-id": "req_bad"})
                return
            if scripted.status != 200 or scripted.body is not None:
                self._send_scripted(provider, scripted)
                return
        if not fake.authorized(provider, req.headers.get("authorization", "")):
            msg = "Incorrect API key provided."
            err = responses.deepgram_error(401, msg) if provider == "deepgram" else None
            self._send(401, err or responses.openai_error(401, msg))
            return
        serial = fake.serial()
        if route == "chat":
            status, out = 200, responses.chat_completion(provider, req.json or {}, serial)
        elif route == "transcriptions":
            audio = next(iter(req.files.values()), {}).get("data", b"")
            status, out = responses.transcription(req.form, audio, serial)
        else:
            status, out = responses.deepgram_listen(req.query, body)
        request_id = f"req_fake_{serial}"
        headers = {"dg-request-id" if provider == "deepgram" else "x-request-id": request_id}
        self._send(status, out, headers)

    def _send_scripted(self, provider: str, scripted: FakeResponse) -> None:
        body = scripted.body
        if isinstance(body, str) and scripted.status >= 400:
            make = responses.deepgram_error if provider == "deepgram" else responses.openai_error
            body = make(scripted.status, body)
        self._send(scripted.status, body or {}, scripted.headers)

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else responses.dumps(body)
        is_text = isinstance(body, str)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if is_text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeProviders


class FakeProviders:
    """The fake server with its scripting and recording; use as a context manager."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, valid_keys: Mapping[str, str] | None = None
    ) -> None:
        self.host, self.port = host, port
        self.valid_keys = dict(valid_keys or {})
        self._lock = threading.Lock()
        self._queues: dict[tuple[str, str], deque[FakeResponse]] = defaultdict(deque)
        self._latency: dict[str, float] = {}
        self._requests: list[RecordedRequest] = []
        self._serial = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeProviders:
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str) -> str:
        return self.url + PROVIDER_PREFIXES[provider]

    def base_urls(self) -> dict[str, str]:
        return {name: self.base_url(name) for name in PROVIDER_PREFIXES}

    def script(self, provider: str, route: str, responses_: Iterable[FakeResponse | int]) -> None:
        """Queue answers for ``provider``'s ``route``; an int is a bare error status."""
        with self._lock:
            for item in responses_:
                resp = FakeResponse.error(item) if isinstance(item, int) else item
                self._queues[(provider, route)].append(resp)

    def set_latency(self, provider: str, seconds: float) -> None:
        with self._lock:
            self._latency[provider] = seconds

    def requests(self, provider: str | None = None, route: str | None = None) -> list[Any]:
        with self._lock:
            return [
                r
                for r in self._requests
                if (provider is None or r.provider == provider)
                and (route is None or r.route == route)
            ]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._queues.clear()
            self._latency.clear()

    # -- used by the handler --
    def resolve(self, path: str) -> tuple[str | None, str | None]:
        for name, prefix in PROVIDER_PREFIXES.items():
            if path.startswith(prefix + "/"):
                rest = path[len(prefix) :].rstrip("/")
                routes = DEEPGRAM_ROUTES if name == "deepgram" else ROUTES
                return name, routes.get(rest)
        return None, None

    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def latency(self, provider: str) -> float:
        with self._lock:
            return self._latency.get(provider, 0.0)

    def next_response(self, provider: str, route: str) -> FakeResponse | None:
        with self._lock:
            queue = self._queues.get((provider, route))
            return queue.popleft() if queue else None

    def serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def authorized(self, provider: str, authorization: str) -> bool:
        scheme, _, key = authorization.partition(" ")
        if not key or scheme.lower() not in ("bearer", "token"):
            return False
        expected = self.valid_keys.get(provider)
        return expected is None or key == expected
