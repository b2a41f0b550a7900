"""Webhook delivery against real HTTP servers on 127.0.0.1 (``http.server`` threads and raw
sockets): signing, retries, address vetting, and one deadline per attempt however the receiver
answers."""

from __future__ import annotations

import json
import random
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from media_analysis_dagster.net.addresses import AllowList
from media_analysis_dagster.net.backoff import backoff_delay
from media_analysis_dagster.net.webhooks import (
    ANSWER_BYTES,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    deliver,
    encode,
    post_once,
    verify,
)

LOOPBACK = "127.0.0.1"
SECRET = "s3cret-for-tests"
SLACK_S = 0.6  # scheduling slack on a busy 2-core machine
ALLOW = AllowList.parse("127.0.0.0/8", "MEDIA_ANALYSIS_CALLBACK_ALLOW")


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
        if status == 504:
            self.send_header("Retry-After", "7")
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


def payload(status: str = "completed") -> dict[str, Any]:
    return {
        "event": "media_analysis.request.finished",
        "request_id": "3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10",
        "status": status,
        "dagster_run_id": "run-1",
        "summary": "Two people talk, then one leaves, and the lights go out.",
    }


def fast(**kwargs: Any) -> dict[str, Any]:
    """Delivery settings that keep a test in milliseconds; loopback allowed."""
    return {"allow": "127.0.0.1", "base_delay": 0.01, "timeout": 2.0, **kwargs}


# -- one attempt ----------------------------------------------------------------------------------
def test_post_once_reports_what_happened(receiver: Receiver) -> None:
    body = encode(payload())
    sent = post_once(receiver.url, body, {"Content-Type": "application/json"}, ALLOW, timeout_s=2)
    assert (sent.delivered, sent.retryable, sent.status_code, sent.error) == (
        True,
        False,
        200,
        None,
    )
    assert 0 <= sent.elapsed_ms < 2000
    [got] = receiver.received
    assert (
        got["body"] == body and got["headers"]["Host"] == f"{LOOPBACK}:{receiver.server_address[1]}"
    )


@pytest.mark.parametrize("receiver", [[504]], indirect=True)
def test_post_once_retryable_answer_carries_retry_after(receiver: Receiver) -> None:
    sent = post_once(receiver.url, b"{}", {}, ALLOW, timeout_s=2)
    assert not sent.delivered and sent.retryable and sent.status_code == 504
    assert sent.retry_after_s == 7.0
    assert sent.error == "The callback receiver 127.0.0.1/hook answered 504."


def test_post_once_refusal_is_final_and_sends_nothing(receiver: Receiver) -> None:
    public_only = AllowList.parse("", "MEDIA_ANALYSIS_CALLBACK_ALLOW")
    sent = post_once(receiver.url, b"{}", {}, public_only, timeout_s=2)
    assert not sent.delivered and not sent.retryable and sent.status_code is None
    assert sent.error == (
        "The address 127.0.0.1 of 127.0.0.1/hook is loopback, not a public address, so "
        "callback_url may not reach it; set MEDIA_ANALYSIS_CALLBACK_ALLOW=127.0.0.1 to allow it."
    )
    assert not receiver.received


class _Stretching(socketserver.BaseRequestHandler):
    """A receiver that stretches its answer: the status line one byte every 0.2 s, a 200 whose
    body comes one byte every 0.2 s, or a 200 whose body never ends."""

    stop = threading.Event()

    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            data = self.request.recv(65536)
            if not data:
                return
            request += data
        path = request.split(b" ", 2)[1]
        try:
            if path == b"/trickle":
                for byte in b"HTTP/1.1 200 OK\r\n":
                    if self.stop.wait(0.2):
                        return
                    self.request.sendall(bytes([byte]))
            elif path == b"/slowbody":
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                while not self.stop.wait(0.2):
                    self.request.sendall(b"x")
            else:
                self.request.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                while not self.stop.is_set():  # ends when the sender hangs up
                    self.request.sendall(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
        except OSError:
            pass  # the sender gave up, as it should


@pytest.fixture(scope="module")
def stretching() -> Iterator[str]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    tcp = socketserver.ThreadingTCPServer((LOOPBACK, 0), _Stretching)
    tcp.daemon_threads = True
    thread = threading.Thread(target=tcp.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{tcp.server_address[1]}"
    _Stretching.stop.set()
    tcp.shutdown()
    tcp.server_close()


def test_a_trickling_receiver_is_cut_off_at_the_deadline(stretching: str) -> None:
    started = time.monotonic()
    sent = post_once(f"{stretching}/trickle", b"{}", {}, ALLOW, timeout_s=1.0)
    elapsed = time.monotonic() - started
    assert not sent.delivered and sent.retryable and sent.status_code is None
    assert sent.error and "did not answer within 1 s" in sent.error
    assert elapsed < 1.0 + SLACK_S, elapsed


def test_a_200_with_a_trickling_body_counts_as_delivered(stretching: str) -> None:
    """The status decides; the body is cut off at the deadline and does not undo it."""
    started = time.monotonic()
    sent = post_once(f"{stretching}/slowbody", b"{}", {}, ALLOW, timeout_s=1.0)
    assert sent.delivered and sent.status_code == 200 and sent.error is None
    assert time.monotonic() - started < 1.0 + SLACK_S


def test_an_endless_answer_is_read_only_so_far(stretching: str) -> None:
    """Delivered (not timed out at 5 s): the sender stops reading after ``ANSWER_BYTES``."""
    started = time.monotonic()
    sent = post_once(f"{stretching}/endless", b"{}", {}, ALLOW, timeout_s=5.0)
    assert sent.delivered and sent.status_code == 200
    assert time.monotonic() - started < 2.0
    assert ANSWER_BYTES == 64 * 1024


# -- many attempts ---------------------------------------------------------------------------------
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
    assert 0 <= waits[0] <= 0.01 and 0 <= waits[1] <= 0.02, waits  # capped full jitter


@pytest.mark.parametrize("receiver", [[503, 502, 200]], indirect=True)
def test_retry_delays_are_net_backoffs(receiver: Receiver) -> None:
    """The waits are exactly ``backoff_delay``'s for the same random stream: one policy."""
    waits: list[float] = []
    deliver(receiver.url, payload(), sleep=waits.append, rng=random.Random(7), **fast())
    rng = random.Random(7)
    expected = [backoff_delay(n, base_delay=0.01, max_delay=30.0, rng=rng) for n in range(2)]
    assert waits == expected


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
    assert refused.error and "127.0.0.1 of 127.0.0.1/hook is loopback" in refused.error
    assert "not a public address" in refused.error
    assert "MEDIA_ANALYSIS_CALLBACK_ALLOW=127.0.0.1" in refused.error
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


def test_a_bad_allow_list_is_refused_without_a_request() -> None:
    outcome = deliver("http://127.0.0.1:9/x", payload(), allow="10.0.0.0/33")
    assert not outcome.delivered and outcome.attempts == 0
    assert outcome.error and "MEDIA_ANALYSIS_CALLBACK_ALLOW" in outcome.error
