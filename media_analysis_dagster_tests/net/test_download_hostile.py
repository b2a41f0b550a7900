"""Hostile download servers on 127.0.0.1: compression bombs and servers that stretch time.

The bodies are made at test time with zlib: 128 MiB of zeros gzip to 128 KB, and 256 MiB
gzipped, gzipped again and deflated (``Content-Encoding: gzip, gzip, deflate``) make 250 bytes,
which the old decoder inflated to a 545 MB peak. Time is stretched by a raw-socket server that
sends nothing, or one byte every 0.2 s, so every socket read succeeds well within any per-read
timeout: only a wall-clock deadline over the whole exchange ends the request in time.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from media_analysis_dagster.net.addresses import AllowList
from media_analysis_dagster.net.download import FetchLimits, download
from media_analysis_dagster.net.errors import DeadlineExceededError, DownloadError
from media_analysis_fixtures.peak_memory import run_measured

PAYLOAD = hashlib.sha256(b"media").digest() * 20_000  # 640,000 bytes
BOMB_BYTES = 128 * 1024 * 1024
SLACK_S = 0.6  # scheduling slack on a busy 2-core machine


def _zeros_packed(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed as a stream (never ``size`` bytes in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.fixture(scope="module")
def bodies() -> dict[str, tuple[list[tuple[str, str]], bytes]]:
    """Path -> (Content-Encoding header lines, body)."""
    bomb = _zeros_packed(BOMB_BYTES)
    stacked = zlib.compress(gzip.compress(_zeros_packed(2 * BOMB_BYTES)))  # the old code: 545 MB
    one = gzip.compress(PAYLOAD)
    return {
        "/plain": ([], PAYLOAD),
        "/gzip": ([("Content-Encoding", "gzip")], one),
        "/x-gzip": ([("Content-Encoding", "x-gzip")], one),
        "/gzip-identity": ([("Content-Encoding", "gzip, identity")], one),
        "/deflate-zlib": ([("Content-Encoding", "deflate")], zlib.compress(PAYLOAD)),
        "/deflate-raw": ([("Content-Encoding", "deflate")], _raw_deflate(PAYLOAD)),
        "/gzip-members": (
            [("Content-Encoding", "gzip")],
            gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]),
        ),
        "/gzip-cut": ([("Content-Encoding", "gzip")], one[: len(one) // 2]),
        "/gzip-damaged": ([("Content-Encoding", "gzip")], one[:20] + b"\xff" * 200 + one[220:]),
        "/bomb": ([("Content-Encoding", "gzip")], bomb),
        "/stacked": ([("Content-Encoding", "gzip, gzip, deflate")], stacked),
        "/stacked-lines": (
            [("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")],
            gzip.compress(one),
        ),
        "/br": ([("Content-Encoding", "br")], PAYLOAD),
    }


@pytest.fixture(scope="module")
def server(bodies: dict[str, tuple[list[tuple[str, str]], bytes]]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def handle(self) -> None:
            with contextlib.suppress(ConnectionResetError):  # the client gave up on purpose
                super().handle()

        def do_GET(self) -> None:
            headers, body = bodies[self.path]
            self.send_response(200)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


OPEN = FetchLimits(timeout_s=20)
LOOPBACK = AllowList.parse("127.0.0.0/8", "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")


@pytest.mark.parametrize(
    "path", ["/plain", "/gzip", "/x-gzip", "/gzip-identity", "/deflate-zlib", "/deflate-raw"]
)
def test_one_encoding_layer_is_decoded(server: str, tmp_path: Path, path: str) -> None:
    fetched = download(f"{server}{path}", tmp_path / "m", OPEN, LOOPBACK)
    assert (tmp_path / "m").read_bytes() == PAYLOAD
    assert fetched.size_bytes == len(PAYLOAD)
    assert fetched.sha256 == hashlib.sha256(PAYLOAD).hexdigest()  # of the media, not the wire


def test_multi_member_gzip_is_decoded_whole(server: str, tmp_path: Path) -> None:
    download(f"{server}/gzip-members", tmp_path / "m", OPEN, LOOPBACK)
    assert (tmp_path / "m").read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/stacked", "3 stacked content encodings, which are refused"),
        ("/stacked-lines", "2 stacked content encodings"),
        ("/br", "unsupported content encoding br"),
        ("/gzip-cut", "cut off before its end"),
        ("/gzip-damaged", "is damaged"),
    ],
)
def test_bad_encodings_are_refused(server: str, tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(DownloadError, match=message) as caught:
        download(f"{server}{path}", tmp_path / "m", OPEN, LOOPBACK)
    text = str(caught.value)
    assert text.endswith(".") and "Error" not in text and "\n" not in text
    assert list(tmp_path.iterdir()) == []


def test_size_limit_holds_on_decoded_bytes(server: str, tmp_path: Path) -> None:
    limits = FetchLimits(timeout_s=20, max_bytes=4 * 1024 * 1024)
    with pytest.raises(DownloadError, match="larger than the limit of 4194304 bytes"):
        download(f"{server}/bomb", tmp_path / "m", limits, LOOPBACK)  # 128 KB on the wire
    assert list(tmp_path.iterdir()) == []


def test_bombs_stay_in_bounded_memory(server: str, tmp_path: Path) -> None:
    """Peak memory of a child process: a refused stacked bomb, a single-layer bomb stopped by
    the size limit, and the same bomb decoded in full to disk (128 MiB) all add little."""
    imports = """
    from media_analysis_dagster.net.addresses import AllowList
    from media_analysis_dagster.net.download import FetchLimits, download
    from media_analysis_dagster.net.errors import NetError
    """
    cases = {
        "stacked": (f"{server}/stacked", 2 * 1024**3, "DownloadError"),
        "limited": (f"{server}/bomb", 32 * 1024**2, "ResponseTooLargeError"),
        "full": (f"{server}/bomb", 2 * 1024**3, None),
    }
    for name, (url, max_bytes, error) in cases.items():
        dest = tmp_path / f"{name}.bin"
        result = run_measured(
            imports,
            f"""
            limits = FetchLimits(timeout_s=60, max_bytes={max_bytes})
            allow = AllowList.parse("127.0.0.0/8", "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")
            try:
                result["size"] = download({url!r}, {str(dest)!r}, limits, allow).size_bytes
            except NetError as exc:  # run_measured reports only media errors by itself
                result["error"] = type(exc).__name__
            """,
        )
        assert result.get("error") == error, result
        assert result["added_mb"] < 24 and result["peak_mb"] < 64, (name, result)
        if error is None:
            assert result["size"] == dest.stat().st_size == BOMB_BYTES
            dest.unlink()


class _Stalling(socketserver.BaseRequestHandler):
    """Answers so slowly that only a total deadline ends the request: nothing at all, headers
    or body one byte every 0.2 s, or redirects that each take 0.4 s."""

    stop = threading.Event()

    def handle(self) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            data = self.request.recv(4096)
            if not data:
                return
            request += data
        path = request.split(b" ", 2)[1].decode()
        try:
            if path == "/silent":
                self.stop.wait(10)
            elif path == "/headers":
                self._trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a")
            elif path == "/body":
                self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"z")
            elif path.startswith("/hop/"):
                self.stop.wait(0.4)
                hop = int(path.rsplit("/", 1)[1]) + 1
                self.request.sendall(
                    b"HTTP/1.1 302 Found\r\nLocation: /hop/%d\r\nContent-Length: 0\r\n\r\n" % hop
                )
        except OSError:
            pass  # the client gave up, as it should

    def _trickle(self, head: bytes, unit: bytes) -> None:
        self.request.sendall(head)
        for _ in range(50):  # at most 10 s, so a failing client still ends the test
            if self.stop.wait(0.2):
                return
            self.request.sendall(unit)


@pytest.fixture(scope="module")
def stalling() -> Iterator[str]:
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Stalling)
    tcp.daemon_threads = True
    thread = threading.Thread(target=tcp.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{tcp.server_address[1]}"
    _Stalling.stop.set()
    tcp.shutdown()
    tcp.server_close()


@pytest.mark.parametrize("path", ["/silent", "/headers", "/body", "/hop/0"])
def test_total_deadline_covers_connect_headers_body_and_hops(
    stalling: str, tmp_path: Path, path: str
) -> None:
    limits = FetchLimits(timeout_s=1.0, max_redirects=20)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match=r"took longer than 1 seconds"):
        download(f"{stalling}{path}", tmp_path / "m", limits, LOOPBACK)
    assert time.monotonic() - started < 1.0 + SLACK_S
    assert list(tmp_path.iterdir()) == []


def test_slow_name_resolution_counts_against_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A resolver that takes 3 s (as an attacker's own name server can) is cut off at 0.5 s.
    The system resolver cannot be pointed at a test server here, so the lookup is slowed."""
    real = socket.getaddrinfo

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(3)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="could not be resolved in time"):
        download("http://media.example/v.mp4", tmp_path / "m", FetchLimits(timeout_s=0.5), LOOPBACK)
    assert time.monotonic() - started < 0.5 + SLACK_S
