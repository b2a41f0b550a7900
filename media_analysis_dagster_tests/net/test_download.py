"""Downloads against a real HTTP server on 127.0.0.1 (local paths: ``media/test_local_source``).

An audit hook on ``socket.connect`` records every connection attempted while a test runs under
``no_remote_connections()`` and refuses any that is not loopback, so "rejected before
connecting" is asserted, not assumed: no test ever reaches a non-loopback address.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from media_analysis_dagster.net.addresses import AllowList, is_public_address
from media_analysis_dagster.net.download import FetchLimits, download
from media_analysis_dagster.net.errors import DownloadError, ForbiddenAddressError

PAYLOAD = hashlib.sha256(b"seed").digest() * 10_000  # 320,000 bytes
VARIABLE = "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"
LOOPBACK = AllowList.parse("127.0.0.0/8,::1", VARIABLE)
PUBLIC_ONLY = AllowList.parse("", VARIABLE)
OPEN = FetchLimits(timeout_s=20)
_connects: list[list[str]] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _connects:
        address = args[1]
        host = str(address[0] if isinstance(address, tuple) else address)
        _connects[-1].append(host)
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise ConnectionRefusedError(f"test guard: refused connection to {host}")


sys.addaudithook(_audit)


@contextmanager
def no_remote_connections() -> Iterator[list[str]]:
    """Record connection attempts; any non-loopback attempt fails."""
    attempts: list[str] = []
    _connects.append(attempts)
    try:
        yield attempts
    finally:
        _connects.pop()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        # The client hangs up on purpose when a limit is hit, with the body unread.
        with contextlib.suppress(ConnectionResetError):
            super().handle()

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        try:
            if url.path == "/file":
                self._send(200, PAYLOAD, Content_Type="video/mp4")
            elif url.path == "/host":
                self._send(200, self.headers["Host"].encode())
            elif url.path == "/redirect":
                self._send(302, Location=query["to"][0])
            elif url.path.startswith("/hop/"):
                left = int(url.path.rsplit("/", 1)[1])
                self._send(302, Location=f"/hop/{left - 1}" if left > 1 else "/file")
            elif url.path == "/declared-huge":
                self._send(200, b"x" * 1024, Content_Length=str(10**12))
            elif url.path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(64):  # 4 MiB in 64 KiB chunks, no Content-Length
                    self.wfile.write(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            elif url.path == "/slow":
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                for _ in range(100):  # at most 10 s, ends early when the client hangs up
                    self.wfile.write(b"z" * 100)
                    self.wfile.flush()
                    time.sleep(0.1)
            else:
                self._send(404, b"not found")
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


# --- address policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::1", False),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(ipaddress.ip_address(address)) is public


def test_public_literal_passes_the_address_check(tmp_path: Path) -> None:
    """The policy lets a public address through: the only thing that stops the download is the
    test guard refusing the connection itself."""
    with (
        no_remote_connections() as attempts,
        pytest.raises(DownloadError, match="could not be reached"),
    ):
        download("http://93.184.216.34/video.mp4", tmp_path / "m", FetchLimits(), PUBLIC_ONLY)
    assert attempts == ["93.184.216.34"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/file",
        "http://localhost:{port}/file",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]:{port}/file",
        "http://10.0.0.1/",
        "http://0.0.0.0:{port}/file",
    ],
)
def test_private_addresses_rejected_before_connecting(
    server: str, tmp_path: Path, url: str
) -> None:
    url = url.format(port=urlsplit(server).port)
    with (
        no_remote_connections() as attempts,
        pytest.raises(ForbiddenAddressError, match="not a public address"),
    ):
        download(url, tmp_path / "media.bin", FetchLimits(), PUBLIC_ONLY)
    assert attempts == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/video.mp4", "gopher://x/", "not a url"]
)
def test_other_schemes_rejected(url: str, tmp_path: Path) -> None:
    with no_remote_connections() as attempts, pytest.raises(ForbiddenAddressError):
        download(url, tmp_path / "m", OPEN, LOOPBACK)
    assert attempts == []


# --- downloads -------------------------------------------------------------------------------


def test_download_streams_and_hashes(server: str, tmp_path: Path) -> None:
    dest = tmp_path / "in" / "media.bin"
    with no_remote_connections():
        fetched = download(f"{server}/file", dest, OPEN, LOOPBACK)
    assert dest.read_bytes() == PAYLOAD
    assert fetched.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert (fetched.size_bytes, fetched.source) == (len(PAYLOAD), "url")
    assert (fetched.final_url, fetched.content_type_header) == (f"{server}/file", "video/mp4")
    assert sorted(p.name for p in dest.parent.iterdir()) == ["media.bin"]


def test_connection_goes_to_the_checked_ip_with_the_original_host_header(
    server: str, tmp_path: Path
) -> None:
    port = urlsplit(server).port
    if not any(
        ipaddress.ip_address(info[4][0]).is_loopback
        for info in socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    ):
        pytest.skip("localhost does not resolve to a loopback address here")
    with no_remote_connections() as attempts:
        download(f"http://localhost:{port}/host", tmp_path / "h", OPEN, LOOPBACK)
    assert (tmp_path / "h").read_text() == f"localhost:{port}"
    assert attempts and all(ipaddress.ip_address(a).is_loopback for a in attempts)


def test_credentials_in_the_url_are_not_kept_in_final_url(server: str, tmp_path: Path) -> None:
    url = server.replace("http://", "http://user:s3cret@") + "/file"
    assert download(url, tmp_path / "m", OPEN, LOOPBACK).final_url == f"{server}/file"


def test_relative_redirects_are_followed(server: str, tmp_path: Path) -> None:
    fetched = download(f"{server}/hop/3", tmp_path / "m", OPEN, LOOPBACK)
    assert fetched.final_url == f"{server}/file" and fetched.size_bytes == len(PAYLOAD)


def test_redirect_limit(server: str, tmp_path: Path) -> None:
    limits = FetchLimits(max_redirects=3)
    with pytest.raises(DownloadError, match="redirected more than 3 times"):
        download(f"{server}/hop/4", tmp_path / "m", limits, LOOPBACK)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x", "file:///etc/passwd"],
)
def test_redirect_to_a_forbidden_target_is_rechecked(
    server: str, tmp_path: Path, target: str
) -> None:
    """Only loopback is allowed (so the test server answers); the redirect hop is re-checked."""
    url = f"{server}/redirect?to={quote(target, safe='')}"
    with no_remote_connections() as attempts, pytest.raises(ForbiddenAddressError):
        download(url, tmp_path / "m", FetchLimits(), LOOPBACK)
    assert attempts == ["127.0.0.1"]
    assert list(tmp_path.iterdir()) == []


def test_http_error_status(server: str, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP status 404") as caught:
        download(f"{server}/missing", tmp_path / "m", OPEN, LOOPBACK)
    assert str(caught.value) == "The server 127.0.0.1 answered HTTP status 404 for /missing."
    assert list(tmp_path.iterdir()) == []


def test_messages_name_host_and_path_never_credentials_or_query(
    server: str, tmp_path: Path
) -> None:
    url = server.replace("http://", "http://user:s3cret@") + "/missing?token=abc123"
    with pytest.raises(DownloadError) as caught:
        download(url, tmp_path / "m", OPEN, LOOPBACK)
    message = str(caught.value)
    assert "/missing" in message and "127.0.0.1" in message
    assert "s3cret" not in message and "user" not in message and "abc123" not in message


@pytest.mark.parametrize("path", ["/declared-huge", "/chunked"])
def test_size_limit(server: str, tmp_path: Path, path: str) -> None:
    limits = FetchLimits(max_bytes=1024 * 1024)
    with pytest.raises(DownloadError, match="limit of 1048576 bytes"):
        download(f"{server}{path}", tmp_path / "m", limits, LOOPBACK)
    assert list(tmp_path.iterdir()) == []


def test_total_time_limit(server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"longer than 0\.6 seconds|timed out"):
        download(f"{server}/slow", tmp_path / "m", FetchLimits(timeout_s=0.6), LOOPBACK)
    assert time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: refuses connections
        with pytest.raises(DownloadError, match="failed"):
            download(f"http://127.0.0.1:{port}/", tmp_path / "m", OPEN, LOOPBACK)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("location", ["/a\tb", "http://a:99999/x", "http://127.0.0.1:0/"])
def test_odd_redirect_targets_end_in_a_clear_error(
    server: str, tmp_path: Path, location: str
) -> None:
    url = f"{server}/redirect?to={quote(location, safe='')}"
    with pytest.raises((DownloadError, ForbiddenAddressError)) as caught:
        download(url, tmp_path / "m", OPEN, LOOPBACK)
    message = str(caught.value)
    assert message.endswith(".") and "Error" not in message
    assert list(tmp_path.iterdir()) == []


def test_invalid_port_is_refused_before_connecting(tmp_path: Path) -> None:
    with no_remote_connections() as attempts, pytest.raises(ForbiddenAddressError, match="port"):
        download("http://127.0.0.1:99999/x", tmp_path / "m", OPEN, LOOPBACK)
    assert attempts == []


# --- every failure is one sentence naming host and path ------------------------------------
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Timeout)\b|\w+\.\w+\.\w+:|Errno|Traceback")


@pytest.mark.parametrize(
    ("path", "limits", "allow", "names"),
    [
        ("/missing?token=abc", OPEN, LOOPBACK, ("127.0.0.1", "/missing", "404")),
        ("/declared-huge", FetchLimits(max_bytes=1024), LOOPBACK, ("/declared-huge",)),
        ("/chunked", FetchLimits(max_bytes=100_000), LOOPBACK, ("/chunked", "MAX_MEDIA_BYTES")),
        ("/slow", FetchLimits(timeout_s=0.5), LOOPBACK, ("/slow", "DOWNLOAD_TIMEOUT_S")),
        ("/hop/9", FetchLimits(max_redirects=2), LOOPBACK, ("/hop/9", "redirected")),
        ("/file", OPEN, PUBLIC_ONLY, ("127.0.0.1/file", "ALLOW_PRIVATE_URLS=127.0.0.1")),
        (
            "/redirect?to=http%3A%2F%2F10.1.2.3%2Finternal%2Fx",
            OPEN,
            LOOPBACK,
            ("10.1.2.3/internal/x", "private", "add 10.1.2.3 to MEDIA_ANALYSIS_ALLOW"),
        ),
    ],
)
def test_every_failure_is_one_sentence_naming_host_and_path(
    server: str, tmp_path: Path, path: str, limits: FetchLimits, allow: AllowList, names: tuple
) -> None:
    with no_remote_connections(), pytest.raises((DownloadError, ForbiddenAddressError)) as caught:
        download(
            f"{server.replace('http://', 'http://u:pw@')}{path}", tmp_path / "m", limits, allow
        )
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message and not CLASS_NAME.search(message)
    assert "127.0.0.1" in message or "10.1.2.3" in message, message
    assert "pw" not in message and "token" not in message and "abc" not in message, message
    for name in names:
        assert name in message, (name, message)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:99999/x?key=secret", "127.0.0.1/x"),
        ("ftp://user:pw@example.com/video.mp4?key=secret", "ftp://example.com/video.mp4"),
        ("http:///no-host", "http:///no-host"),
        ("http://exa mple.com/a\nb", "http://exa mple.com/a b"),
    ],
)
def test_refused_urls_are_named_without_credentials_query_or_line_breaks(
    tmp_path: Path, url: str, shown: str
) -> None:
    with no_remote_connections(), pytest.raises(ForbiddenAddressError) as caught:
        download(url, tmp_path / "m", OPEN, LOOPBACK)
    message = str(caught.value)
    assert shown in message and "\n" not in message and not CLASS_NAME.search(message)
    assert "secret" not in message and "pw" not in message


def test_the_loopback_refusal_names_the_setting_that_allows_it(tmp_path: Path) -> None:
    with no_remote_connections(), pytest.raises(ForbiddenAddressError) as caught:
        download("http://127.0.0.1:9/clips/a.mp4", tmp_path / "m", OPEN, PUBLIC_ONLY)
    assert str(caught.value) == (
        "The address 127.0.0.1 of 127.0.0.1/clips/a.mp4 is loopback, not a public address, so "
        "media_url may not reach it; set MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS=127.0.0.1 to allow it."
    )
