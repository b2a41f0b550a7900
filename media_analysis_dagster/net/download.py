"""Download a ``media_url`` to a file: the one place a request's URL is fetched.

The URL comes from whoever submits a request, so this is a security boundary (see
``docs/architecture.md``, "Outbound connections"):

- http(s) only, and every address the host resolves to must be public unless the operator's
  :class:`~.addresses.AllowList` (``MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS``) permits it. Redirects are
  followed by hand so that every ``Location`` goes through the same check, within a limit.
- DNS rebinding: each hop's host is resolved once, every address is checked, and the connection
  goes to a checked address (the next one only if the first refuses). The request URL carries
  that IP, the ``Host`` header the original name, and for https the ``sni_hostname`` request
  extension makes TLS send SNI for, and verify the certificate against, the original name. No
  proxy is ever used (httpcore reads no environment): a proxy would resolve the name itself.
- ``timeout_s`` is one wall-clock deadline over DNS, connect, TLS, headers and body of every hop
  (``deadline.py``); ``max_bytes`` holds on the bytes received and on the decoded bytes written.
  The body streams into a ``.part`` file, deleted on any failure and renamed only when complete.
- ``on_progress(bytes received, bytes expected)`` hears each chunk: expected is the
  ``Content-Length`` when the server sends one, else the size limit.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpcore
import httpx

from .addresses import AllowList, IPAddress
from .connect import send_to_checked
from .deadline import deadline_pool, decoded_body, failure_reason, header_value
from .errors import DeadlineExceededError, DownloadError, ResponseTooLargeError
from .resolve import label, vet, where

ALLOW_VARIABLE = "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"
# The settings a limit's message tells the operator to raise (``settings.py`` reads them).
SIZE_VARIABLE = "MEDIA_ANALYSIS_MAX_MEDIA_BYTES"
TIME_VARIABLE = "MEDIA_ANALYSIS_DOWNLOAD_TIMEOUT_S"
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_USER_AGENT = "media-analysis-dagster/0.1"

OnProgress = Callable[[float, float], None]


@dataclass(frozen=True)
class FetchLimits:
    """Limits for one download (the addresses allowed are an :class:`AllowList` apart)."""

    max_bytes: int = 2 * 1024**3
    timeout_s: float = 300.0
    connect_timeout_s: float = 10.0
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """Where the media now lives, with the checksum recorded for the request (the same fields
    as ``media.local_source.Fetched``, which ``net`` may not import)."""

    path: Path
    size_bytes: int
    sha256: str
    source: str  # 'url'
    final_url: str | None
    content_type_header: str | None


def _too_large(name: str, max_bytes: int, size: int | None = None) -> ResponseTooLargeError:
    """The one sentence for a file over the size limit, naming it and the setting to raise."""
    what = f"is {size} bytes, over" if size is not None else "is larger than"
    mib = f" ({max_bytes / 1024**2:.4g} MiB)" if max_bytes >= 1024**2 else ""
    return ResponseTooLargeError(
        f"The file at {name} {what} the limit of {max_bytes} bytes{mib}; raise "
        f"{SIZE_VARIABLE} to accept it."
    )


def _too_slow(name: str, limits: FetchLimits) -> DeadlineExceededError:
    return DeadlineExceededError(
        f"The download of {name} took longer than {limits.timeout_s:g} seconds; raise "
        f"{TIME_VARIABLE} to allow more time."
    )


def _write_hashed(
    chunks: Iterable[bytes], part: Path, max_bytes: int, name: str
) -> tuple[int, str]:
    """Write ``chunks`` to ``part`` while hashing and counting them, so the size limit holds on
    the decoded bytes written, not only on what the wire carried."""
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(name, max_bytes)
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def _send(
    pool: httpcore.ConnectionPool,
    target: httpx.URL,
    addresses: list[IPAddress],
    limits: FetchLimits,
) -> httpcore.Response:
    """GET ``target`` from the first of its checked addresses that accepts a connection
    (``connect.send_to_checked``)."""
    headers = [
        (b"User-Agent", _USER_AGENT.encode()),
        (b"Accept-Encoding", b"identity"),
    ]
    if target.userinfo:
        token = base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
        headers.append((b"Authorization", f"Basic {token}".encode()))
    extensions: dict[str, Any] = {"timeout": {"connect": limits.connect_timeout_s}}
    return send_to_checked(pool, "GET", target, addresses, headers, extensions=extensions)


def _raw_body(
    response: httpcore.Response,
    limits: FetchLimits,
    deadline: float,
    on_progress: OnProgress | None = None,
    *,
    name: str,
) -> Iterator[bytes]:
    """The body as received (before content decoding), bounded in size and time."""
    declared = header_value(response, b"content-length") or ""
    expected = int(declared) if declared.isdigit() else limits.max_bytes
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(name, limits.max_bytes, int(declared))
    received = 0
    for chunk in response.iter_stream():
        received += len(chunk)
        if received > limits.max_bytes:
            raise _too_large(name, limits.max_bytes)
        if time.monotonic() > deadline:
            raise _too_slow(name, limits)
        if on_progress is not None:
            on_progress(received, max(expected, received))
        yield chunk


def _fetch_once(
    pool: httpcore.ConnectionPool,
    target: httpx.URL,
    addresses: list[IPAddress],
    part: Path,
    limits: FetchLimits,
    deadline: float,
    on_progress: OnProgress | None = None,
) -> tuple[str | None, tuple[int, str, str | None] | None]:
    """One hop: (redirect location, None) or (None, (size, sha256, content type))."""
    response = _send(pool, target, addresses, limits)
    try:
        status = response.status
        if status in _REDIRECT_STATUSES:
            location = header_value(response, b"location")
            if not location:
                raise DownloadError(
                    f"The server {target.host} redirected {target.path} without a location."
                )
            return location, None
        if not 200 <= status < 300:
            raise DownloadError(
                f"The server {target.host} answered HTTP status {status} for {target.path}."
            )
        encoding = header_value(response, b"content-encoding")
        raw = _raw_body(response, limits, deadline, on_progress, name=where(target))
        body = decoded_body(raw, encoding, where(target))
        size, sha = _write_hashed(body, part, limits.max_bytes, where(target))
        return None, (size, sha, header_value(response, b"content-type"))
    finally:
        response.close()


def _redirect_target(target: httpx.URL, location: str) -> str:
    try:
        return str(target.join(location))
    except httpx.InvalidURL as exc:
        raise DownloadError(
            f"The server {target.host} redirected {target.path} to an invalid address."
        ) from exc


def _hops(
    url: str,
    part: Path,
    limits: FetchLimits,
    allow: AllowList,
    deadline: float,
    on_progress: OnProgress | None = None,
) -> tuple[httpx.URL, tuple[int, str, str | None]]:
    """Follow redirects by hand, vetting every hop; the last hop's URL and what it saved."""
    current = url
    with deadline_pool(deadline) as pool:
        for _ in range(limits.max_redirects + 1):
            target, addresses = vet(current, allow, deadline, ALLOW_VARIABLE)
            try:
                location, saved = _fetch_once(
                    pool, target, addresses, part, limits, deadline, on_progress
                )
            except httpcore.TimeoutException as exc:
                if time.monotonic() >= deadline:
                    raise _too_slow(where(target), limits) from exc
                raise DownloadError(f"The download from {where(target)} timed out.") from exc
            except (
                httpcore.NetworkError,
                httpcore.ProtocolError,
                httpcore.UnsupportedProtocol,
            ) as exc:
                raise DownloadError(
                    f"The download from {where(target)} failed: {failure_reason(exc)}."
                ) from exc
            if saved is not None:
                return target, saved
            current = _redirect_target(target, location or "")
    raise DownloadError(
        f"The download of {label(url)} was redirected more than {limits.max_redirects} times."
    )


def download(
    url: str,
    dest: Path,
    limits: FetchLimits,
    allow: AllowList,
    *,
    on_progress: OnProgress | None = None,
) -> Fetched:
    """Download ``url`` to ``dest`` under ``limits``, reaching only addresses ``allow`` permits
    (public ones always); raises :class:`~.errors.NetError` subclasses, never leaving a file
    behind on failure. See the module docstring for the rules (and ``on_progress``)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    deadline = time.monotonic() + limits.timeout_s
    try:
        target, (size, sha, content_type) = _hops(url, part, limits, allow, deadline, on_progress)
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    final_url = str(target.copy_with(userinfo=b""))  # never store credentials
    return Fetched(dest, size, sha, "url", final_url, content_type)
