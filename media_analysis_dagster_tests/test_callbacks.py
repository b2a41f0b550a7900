"""Completion callbacks against real HTTP servers on 127.0.0.1 (``http.server`` threads)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from media_analysis_dagster.callbacks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    CallbackError,
    build_payload,
    deliver,
    encode,
    parse_allow,
    sign,
    verify,
)

LOOPBACK = "127.0.0.1"
SECRET = "s3cret-for-tests"


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next scripted status (the last one repeats) and records
    every request; status 0 means "accept, then never answer" (for timeouts)."""

    daemon_threads = True

    def __init__(self, script: list[int], location: str = "") -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.script = list(script)
        self.location = location
        self.received: list[dict[str, Any]] = []
        self.closing = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append({"headers": dict(self.headers), "body": body})
        script = self.server.script
        status = script.pop(0) if len(script) > 1 else script[0]
        if status == 0:
            self.server.closing.wait(30)
            return
        self.send_response(status)
        if status in (301, 302, 307):
            self.send_header("Location", self.server.location)
        if status == 429:
            self.send_header("Retry-After", "0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(getattr(request, "param", [200]))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.closing.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def payload(status: str = "completed", **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "summary": "Two people talk, then one leaves, and the lights go out.",
        "result_types": ["summary", "transcription", "summary"],
        "files": [{"file_type": "contact_sheet", "file_name": "sheet_01.jpg", "url": "s3://b/k"}],
        "api_costs": {"openai": 0.0123},
        "ui_base_url": "http://dagster.internal:3000/",
        **extra,
    }
    return build_payload(
        request_id="3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10",
        status=status,
        dagster_run_id="run-1",
        **values,
    )


def fast(**kwargs: Any) -> dict[str, Any]:
    """Delivery settings that keep a test in milliseconds; loopback allowed."""
    return {"allow": "127.0.0.1", "base_delay": 0.01, "timeout": 2.0, **kwargs}


# -- the document and its signature -------------------------------------------------------------
def test_payload_carries_what_a_workflow_needs() -> None:
    doc = payload()
    assert doc["status"] == "completed" and doc["event"] == "media_analysis.request.finished"
    assert doc["result_types"] == ["summary", "transcription"]
    assert doc["files"] == [
        {"file_type": "contact_sheet", "file_name": "sheet_01.jpg", "url": "s3://b/k"}
    ]
    assert doc["dagster_ui_url"] == "http://dagster.internal:3000/runs/run-1"
    assert doc["api_costs"] == {"openai": 0.0123} and doc["error_details"] is None
    failed = payload(
        "failed",
        error_message="The download failed.",
        error_details={"step": "fetch_media", "error_type": "DownloadError", "stack": "x" * 9999},
    )
    assert failed["error_details"] == {"step": "fetch_media", "error_type": "DownloadError"}
    long = payload(summary="word " * 5000)["summary"]
    assert len(long) == 4000 and long.endswith("…")
    with pytest.raises(CallbackError, match="must be one of"):
        payload("done")
    assert json.loads(encode(doc)) == doc


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = encode(payload())
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    assert verify(body, SECRET, sign(body, SECRET))
    assert not verify(body, "other", sign(body, SECRET))
    assert not verify(body + b" ", SECRET, sign(body, SECRET))
    assert not verify(body, SECRET, None)


def test_receiver_verifies_signature_and_sees_delivery_id(receiver: Receiver) -> None:
    doc = payload()
    outcome = deliver(receiver.url, doc, secret=SECRET, **fast())
    assert outcome.delivered and outcome.attempts == 1 and outcome.status_code == 200
    [got] = receiver.received
    headers = got["headers"]
    assert verify(got["body"], SECRET, headers[SIGNATURE_HEADER])
    assert not verify(got["body"], "wrong secret", headers[SIGNATURE_HEADER])
    assert json.loads(got["body"]) == doc
    assert headers[DELIVERY_HEADER] == "3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10:completed:run-1"
    assert headers["Content-Type"] == "application/json"
    assert headers["Host"] == f"{LOOPBACK}:{receiver.server_address[1]}"
    unsigned = deliver(receiver.url, doc, **fast())
    assert unsigned.delivered and SIGNATURE_HEADER not in receiver.received[1]["headers"]


# -- retries --------------------------------------------------------------------------------------
@pytest.mark.parametrize("receiver", [[503, 502, 200]], indirect=True)
def test_retries_then_succeeds(receiver: Receiver) -> None:
    waits: list[float] = []
    outcome = deliver(receiver.url, payload(), secret=SECRET, sleep=waits.append, **fast())
    assert outcome.delivered and outcome.attempts == 3 and outcome.status_code == 200
    assert len(receiver.received) == 3
    ids = {r["headers"][DELIVERY_HEADER] for r in receiver.received}
    assert len(ids) == 1, "every attempt names the same event"
    assert 0.005 <= waits[0] <= 0.01 and 0.01 <= waits[1] <= 0.02, waits  # backoff + jitter


@pytest.mark.parametrize("receiver", [[500]], indirect=True)
def test_gives_up_after_n_attempts(receiver: Receiver) -> None:
    outcome = deliver(receiver.url, payload(), attempts=4, **fast())
    assert not outcome.delivered and outcome.attempts == 4 and outcome.status_code == 500
    assert len(receiver.received) == 4
    assert outcome.error and "failed after 4 attempts" in outcome.error and "500" in outcome.error


@pytest.mark.parametrize(
    "receiver", [[429, 200], [409, 200], [408, 200]], indirect=True, ids=["429", "409", "408"]
)
def test_not_ready_answers_are_retried(receiver: Receiver) -> None:
    """429, and 409 as n8n answers while the execution that will wait still runs."""
    outcome = deliver(receiver.url, payload(), **fast())
    assert outcome.delivered and outcome.attempts == 2


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_other_4xx_is_final(receiver: Receiver) -> None:
    outcome = deliver(receiver.url, payload(), attempts=5, **fast())
    assert not outcome.delivered and outcome.attempts == 1 and outcome.status_code == 400
    assert outcome.error and "answered 400" in outcome.error
    assert len(receiver.received) == 1


def test_connection_refused_is_retried_then_recorded() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
    outcome = deliver(f"http://{LOOPBACK}:{port}/hook", payload(), attempts=3, **fast())
    assert not outcome.delivered and outcome.attempts == 3 and outcome.status_code is None
    assert outcome.error and "refused or dropped the connection" in outcome.error


@pytest.mark.parametrize("receiver", [[0]], indirect=True)
def test_timeouts_are_bounded(receiver: Receiver) -> None:
    started = time.monotonic()
    outcome = deliver(receiver.url, payload(), **fast(attempts=2, timeout=0.5))
    elapsed = time.monotonic() - started
    assert not outcome.delivered and outcome.attempts == 2
    assert outcome.error and "did not answer within 0.5 s" in outcome.error
    assert elapsed < 3.0, elapsed
    assert abs(outcome.elapsed_ms / 1000 - elapsed) < 0.2


# -- where a callback may go ---------------------------------------------------------------------
def test_private_addresses_are_refused_unless_allowed(receiver: Receiver) -> None:
    refused = deliver(receiver.url, payload(), base_delay=0.01)
    assert not refused.delivered and refused.attempts == 1 and refused.status_code is None
    assert refused.error and "127.0.0.1, which is not a public address" in refused.error
    assert "MEDIA_ANALYSIS_CALLBACK_ALLOW" in refused.error
    other_net = deliver(receiver.url, payload(), allow="10.0.0.0/8,n8n.internal")
    assert not other_net.delivered and not receiver.received

    port = receiver.server_address[1]
    for allow, url in [
        ("127.0.0.0/8", receiver.url),
        ("10.0.0.0/8, 127.0.0.1", receiver.url),
        ("localhost", f"http://localhost:{port}/hook"),  # a host name vouches for its addresses
    ]:
        outcome = deliver(url, payload(), allow=allow, base_delay=0.01)
        assert outcome.delivered, (allow, outcome)
    assert receiver.received[-1]["headers"]["Host"] == f"localhost:{port}"


@pytest.mark.parametrize("receiver", [[302]], indirect=True)
def test_redirects_are_not_followed(receiver: Receiver) -> None:
    target = Receiver([200])
    thread = threading.Thread(target=target.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        receiver.location = target.url
        outcome = deliver(receiver.url, payload(), **fast())
    finally:
        target.shutdown()
        target.server_close()
        thread.join(timeout=5)
    assert not outcome.delivered and outcome.attempts == 1 and outcome.status_code == 302
    assert outcome.error and "redirect, which is not followed" in outcome.error
    assert not target.received


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "not ftp"),
        ("file:///etc/passwd", "not file"),
        ("http:///nohost", "no host name"),
        ("not a url at all", "not"),
    ],
)
def test_unusable_urls_are_refused_without_a_request(url: str, reason: str) -> None:
    outcome = deliver(url, payload(), **fast())
    assert not outcome.delivered and outcome.attempts == 0
    assert outcome.error and reason in outcome.error


def test_allow_list_parsing() -> None:
    rules = parse_allow(" 10.0.0.0/8 , N8N.Internal., 127.0.0.1,fd00::/8 ,")
    assert [str(n) for n in rules.networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert rules.hosts == frozenset({"n8n.internal"})
    assert parse_allow("").networks == () and parse_allow(None).hosts == frozenset()
    for bad in ("10.0.0.0/33", "bad host!", "http://n8n"):
        with pytest.raises(CallbackError, match="allow list entry"):
            parse_allow(bad)
    outcome = deliver("http://127.0.0.1:9/x", payload(), allow="10.0.0.0/33")
    assert not outcome.delivered and outcome.attempts == 0
