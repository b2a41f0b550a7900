"""``sdk_http_client``: one wall-clock deadline and a byte cap per request, against a server on
127.0.0.1 that trickles, stalls or never stops (``stretching_server``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from media_analysis_dagster.net.clients import (
    CallDeadlineExceeded,
    ResponseTooLarge,
    sdk_http_client,
)
from media_analysis_fixtures.stretching_server import CHAT_COMPLETION, stretching_server

SLACK_S = 0.6  # scheduling slack on a busy 2-core machine
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with stretching_server() as url:
        yield url


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with sdk_http_client(deadline_s=1.0, max_response_bytes=8 * MIB) as http:
        yield http


def test_a_complete_answer_passes_and_connections_are_reused(
    server: str, client: httpx.Client
) -> None:
    streams = set()
    for pause in (0.0, 0.0, 1.1):  # each request has its own deadline, on the same connection
        time.sleep(pause)
        answer = client.post(f"{server}/ok/v1/chat/completions", json={"model": "m"})
        assert answer.status_code == 200 and answer.json() == CHAT_COMPLETION
        streams.add(id(answer.extensions["network_stream"]))
    assert len(streams) == 1
    port = server.rsplit(":", 1)[1]
    named = client.get(f"http://localhost:{port}/ok/x")  # a name is resolved within the deadline
    assert named.json() == CHAT_COMPLETION


def test_one_gzip_layer_is_decoded_here(server: str, client: httpx.Client) -> None:
    answer = client.get(f"{server}/gzip/v1/x")
    assert answer.json() == CHAT_COMPLETION
    assert "content-encoding" not in answer.headers


@pytest.mark.parametrize("mode", ["trickle", "slowheaders", "silent"])
def test_a_stretched_answer_ends_at_the_deadline(
    server: str, client: httpx.Client, mode: str
) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException) as caught:
        client.post(f"{server}/{mode}/v1/chat/completions", json={"model": "m"})
    elapsed = time.monotonic() - started
    assert isinstance(caught.value, CallDeadlineExceeded), caught.value
    assert 0.9 <= elapsed < 1.0 + SLACK_S, elapsed


def test_an_endless_body_ends_at_the_deadline_or_the_cap(server: str) -> None:
    started = time.monotonic()
    with (
        sdk_http_client(deadline_s=1.0, max_response_bytes=1024 * MIB) as http,
        pytest.raises(CallDeadlineExceeded),
    ):
        http.get(f"{server}/endless/v1/x")
    assert time.monotonic() - started < 1.0 + SLACK_S
    started = time.monotonic()
    with (
        sdk_http_client(deadline_s=30.0, max_response_bytes=MIB) as http,
        pytest.raises(ResponseTooLarge, match=f"over {MIB} bytes"),
    ):
        http.get(f"{server}/endless/v1/x")
    assert time.monotonic() - started < 3.0


def test_a_streamed_body_is_bounded_too(server: str, client: httpx.Client) -> None:
    """An SDK that iterates the body after ``send`` returns is held to the same deadline."""
    started = time.monotonic()
    received = 0
    with (
        pytest.raises(CallDeadlineExceeded),
        client.stream("GET", f"{server}/endless/v1/x") as answer,
    ):
        assert answer.status_code == 200
        for chunk in answer.iter_bytes():
            received += len(chunk)
    assert received > 0 and time.monotonic() - started < 1.0 + SLACK_S


def test_a_declared_length_over_the_cap_is_refused_at_once(server: str) -> None:
    started = time.monotonic()
    with (
        sdk_http_client(deadline_s=5.0, max_response_bytes=MIB) as http,
        pytest.raises(ResponseTooLarge, match="over 1048576"),
    ):
        http.get(f"{server}/huge/v1/x")
    assert time.monotonic() - started < 1.0


def test_errors_are_httpx_transport_errors(server: str, client: httpx.Client) -> None:
    """What the SDKs catch: timeouts are ``TimeoutException``, the cap a ``TransportError``."""
    assert issubclass(CallDeadlineExceeded, httpx.TimeoutException)
    assert issubclass(ResponseTooLarge, httpx.TransportError)
    port = server.rsplit(":", 1)[1]
    client.close()
    with sdk_http_client(deadline_s=1.0, max_response_bytes=MIB) as http:
        with pytest.raises(httpx.ConnectError):
            http.get("http://127.0.0.1:9/refused")  # discard port: nobody listens
        assert json.loads(http.get(f"http://127.0.0.1:{port}/ok/x").content) == CHAT_COMPLETION


def test_redirects_and_environment_proxies_are_not_used(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    with sdk_http_client(deadline_s=2.0, max_response_bytes=MIB) as http:
        assert not http.follow_redirects
        assert http.get(f"{server}/ok/x").status_code == 200  # the proxy would refuse
