"""Name resolution within a deadline, and the vetting of a URL before anything is sent to it.

- ``socket.getaddrinfo`` has no timeout, and the name servers of a domain belong to whoever owns
  it, so a lookup may take as long as they like. :func:`resolve` runs it in a daemon thread and
  stops waiting at the deadline; a lookup still running then ends on its own.
- :func:`vet` resolves a URL's host once and checks every address against an
  :class:`~.addresses.AllowList`. The caller then connects to one of *those* addresses (with the
  name in ``Host`` and TLS SNI), so DNS rebinding — a second lookup answering differently — has
  nothing to act on.
- A refusal is one sentence an operator can act on: which address of which URL, what kind of
  address it is, and the setting that would allow it (:func:`where` and :func:`label` name a
  URL by host and path, never by its credentials or query string).
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

# The request field each allow list guards, for the sentence that refuses an address.
_FIELDS = {
    "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "media_url",
    "MEDIA_ANALYSIS_CALLBACK_ALLOW": "callback_url",
}
_SHOWN_CHARS = 120


def resolve(host: str, port: int, deadline: float, *, url: str | None = None) -> list[IPAddress]:
    """The addresses of ``host`` (an address literal is its own answer) in resolver order,
    without repeats, found before ``deadline`` (``time.monotonic()``), else
    :class:`DeadlineExceededError`. ``url`` (host and path, see :func:`where`) is what a failure
    names when the lookup is for a URL."""
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
    subject = f"The host name of {url}" if url else f"The host name {host}"
    if not found:
        raise DeadlineExceededError(f"{subject} could not be resolved in time.")
    if isinstance(found[0], BaseException):
        raise DownloadError(f"{subject} could not be resolved; check the spelling.") from found[0]
    addresses: list[IPAddress] = []
    for info in found[0]:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise DownloadError(f"{subject} could not be resolved; check the spelling.")
    return addresses


def where(url: httpx.URL) -> str:
    """``host/path`` of ``url`` for a message: no scheme, credentials, port or query string."""
    path = url.path if len(url.path) <= _SHOWN_CHARS else url.path[: _SHOWN_CHARS - 1] + "…"
    host = url.host or "no host"
    return f"{f'[{host}]' if ':' in host else host}{path or '/'}"


def shown(text: str) -> str:
    """``text`` (a URL that may not parse) made fit for one line of a message: no credentials
    (``user:password@``), no query string or fragment, no control characters, at most
    ``_SHOWN_CHARS`` characters."""
    head = str(text).split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = head.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        head = f"{scheme}://{authority.rsplit('@', 1)[-1]}{slash}{path}"
    clean = " ".join("".join(c if c.isprintable() else " " for c in head).split())
    if len(clean) > _SHOWN_CHARS:
        clean = clean[: _SHOWN_CHARS - 1] + "…"
    return clean or "(empty)"


def label(url: str) -> str:
    """How a message names ``url``: ``host/path`` when it parses, else :func:`shown`."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return shown(url)
    return where(parsed) if parsed.host else shown(url)


def address_kind(ip: IPAddress) -> str:
    """What kind of non-public address ``ip`` is, in an operator's words (an IPv6 address that
    carries an IPv4 one is the kind of the one it carries)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            return address_kind(embedded)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip in ipaddress.ip_network("100.64.0.0/10"):
        return "shared (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    return "reserved"


def refusal(url: httpx.URL, ip: IPAddress, allow: AllowList, variable: str) -> str:
    """The sentence refusing ``ip`` for ``url``, with the setting that would allow it."""
    field = _FIELDS.get(variable, "this URL")
    fix = (
        f"add {ip} to {variable} to allow it"
        if allow.networks or allow.hosts
        else f"set {variable}={ip} to allow it"
    )
    return (
        f"The address {ip} of {where(url)} is {address_kind(ip)}, not a public address, so "
        f"{field} may not reach it; {fix}."
    )


def parse_http_url(url: str) -> httpx.URL:
    """``url`` parsed, or :class:`ForbiddenAddressError` when it is not an http(s) URL with a
    host and a valid port: what no connection could ever be allowed for."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise ForbiddenAddressError(f"The URL {shown(url)} could not be parsed.") from None
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "no scheme"
        raise ForbiddenAddressError(
            f"Only http and https URLs are allowed, not {scheme} ({shown(url)})."
        )
    if not parsed.raw_host:
        raise ForbiddenAddressError(f"The URL {shown(url)} has no host name.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise ForbiddenAddressError(f"The URL {where(parsed)} has the invalid port {port}.")
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
    addresses = resolve(host, port, deadline, url=where(parsed))
    for ip in addresses:
        if not allow.permits(host, ip):
            raise ForbiddenAddressError(refusal(parsed, ip, allow, variable))
    return parsed, addresses
