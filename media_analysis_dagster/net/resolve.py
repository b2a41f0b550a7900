"""Name resolution within a deadline, and the vetting of a URL before anything is sent to it.

- ``socket.getaddrinfo`` has no timeout, and the name servers of a domain belong to whoever owns
  it, so a lookup may take as long as they like. :func:`resolve` runs it in a daemon thread and
  stops waiting at the deadline; a lookup still running then ends on its own.
- :func:`vet` resolves a URL's host once and checks every address against an
  :class:`~.addresses.AllowList`. The caller then connects to one of *those* addresses (with the
  name in ``Host`` and TLS SNI), so DNS rebinding — a second lookup answering differently — has
  nothing to act on.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

import httpx

from .addresses import AllowList, IPAddress
from .errors import DeadlineExceededError, DownloadError, ForbiddenAddressError


def resolve(host: str, port: int, deadline: float) -> list[IPAddress]:
    """The addresses of ``host`` (an address literal is its own answer) in resolver order,
    without repeats, found before ``deadline`` (``time.monotonic()``), else
    :class:`DeadlineExceededError`."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # any failure is a failed lookup, reported below
            found.append(exc)

    worker = threading.Thread(target=lookup, name="net-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not found:
        raise DeadlineExceededError(f"The host name {host} could not be resolved in time.")
    if isinstance(found[0], BaseException):
        raise DownloadError(f"The host name {host} could not be resolved.") from found[0]
    addresses: list[IPAddress] = []
    for info in found[0]:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise DownloadError(f"The host name {host} could not be resolved.")
    return addresses


def where(url: httpx.URL) -> str:
    """``host/path`` of ``url`` for a message: no scheme, credentials, port or query string."""
    path = url.path if len(url.path) <= 120 else url.path[:119] + "…"
    return f"{url.host or 'no host'}{path or '/'}"


def parse_http_url(url: str) -> httpx.URL:
    """``url`` parsed, or :class:`ForbiddenAddressError` when it is not an http(s) URL with a
    host and a valid port: what no connection could ever be allowed for."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ForbiddenAddressError("The URL could not be parsed.") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "none"
        raise ForbiddenAddressError(f"Only http and https URLs are allowed, not {scheme}.")
    if not parsed.raw_host:
        raise ForbiddenAddressError("The URL has no host name.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise ForbiddenAddressError(f"The URL of {parsed.host} has the invalid port {port}.")
    return parsed


def vet(
    url: str, allow: AllowList, deadline: float, variable: str
) -> tuple[httpx.URL, list[IPAddress]]:
    """Parse ``url`` and resolve its host; every address must be permitted by ``allow``
    (``variable`` is the setting a refusal tells the operator to change). Returns the URL and
    the checked addresses to connect to."""
    parsed = parse_http_url(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = resolve(host, port, deadline)
    for ip in addresses:
        if not allow.permits(host, ip):
            raise ForbiddenAddressError(
                f"The host {host} resolves to {ip}, which is not a public address; to allow it, "
                f"add it to {variable}."
            )
    return parsed, addresses
