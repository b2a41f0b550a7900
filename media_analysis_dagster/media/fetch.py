"""Obtain the media: copy it from an allowed local root or download it over http(s).

Both sources are attacker-influenced request fields, so this module is the security boundary of
DESIGN §6:

- ``media_path`` must resolve, symlinks included, inside one of the configured media roots.
- ``media_url`` must be http(s), and every address its host resolves to must be public unless
  private addresses are explicitly allowed. Redirects are followed by hand so that every
  ``Location`` goes through the same check, within a redirect limit.
- DNS rebinding: each hop's host is resolved once, every address is checked, and the connection
  goes to a checked address (the next one only if the first refuses). The request URL carries
  that IP, the ``Host`` header the original name, and for https the ``sni_hostname`` request
  extension makes TLS send SNI for, and verify the certificate against, the original name. So no
  second lookup can swap in an internal address. No proxy is ever used (httpcore reads no
  environment), because a proxy would resolve the name itself.
- Size and total time are limited while streaming into a ``.part`` file, which is deleted on any
  failure and renamed only when the download is complete. ``timeout_s`` is one wall-clock
  deadline over DNS, connect, TLS, headers and body of every hop (see ``bounded_http``), and
  ``max_bytes`` holds on the bytes received and on the decoded bytes written.

Testing seam: :func:`download` accepts ``address_allowed``, a predicate that replaces the address
policy derived from ``FetchLimits.allow_private``. Tests pass "loopback only" so a local server can
answer while a redirect to, say, 169.254.169.254 is still refused by the re-check before any
connection is attempted. Production callers do not pass it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpcore

from media_analysis_dagster.media.bounded_http import (
    deadline_pool,
    decoded_body,
    failure_reason,
    header_value,
)
from media_analysis_dagster.media.errors import (
    DownloadError,
    ForbiddenSourceError,
    MediaError,
    MediaLimitError,
    SourceError,
)

if TYPE_CHECKING:
    import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

_CHUNK = 1024 * 1024
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_USER_AGENT = "media-analysis-dagster/0.1"


@dataclass(frozen=True)
class FetchLimits:
    """Limits for one download; ``allow_private`` lifts the public-address rule."""

    max_bytes: int = 2 * 1024**3
    timeout_s: float = 300.0
    connect_timeout_s: float = 10.0
    max_redirects: int = 5
    allow_private: bool = False


@dataclass(frozen=True)
class Fetched:
    """Where the media now lives, with the checksum recorded for the request."""

    path: Path
    size_bytes: int
    sha256: str
    source: str  # 'path' | 'url'
    final_url: str | None
    content_type_header: str | None


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def resolve_local_path(media_path: str, roots: Sequence[Path]) -> Path:
    """Return the real path of ``media_path`` if it lies inside a media root.

    Relative paths are taken relative to each root in turn. The lexical check runs before the
    file system is touched, so the error for a path outside the roots does not reveal whether
    it exists; the check on the resolved path then catches symlinks that point outside.
    """
    if not roots:
        raise ForbiddenSourceError("No media roots are configured, so media_path cannot be used.")
    real_roots = [Path(root).resolve() for root in roots]
    lexical_roots = [Path(os.path.abspath(root)) for root in roots] + real_roots
    raw = Path(media_path)
    candidates = [raw] if raw.is_absolute() else [Path(root) / raw for root in roots]
    inside = [
        lexical
        for lexical in (Path(os.path.abspath(c)) for c in candidates)
        if any(_inside(lexical, root) for root in lexical_roots)
    ]
    if not inside:
        raise ForbiddenSourceError(
            f"The media path {media_path} lies outside the configured media roots."
        )
    for lexical in inside:
        try:
            real = lexical.resolve(strict=True)
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:
            raise SourceError(f"The media path {media_path} cannot be read ({exc}).") from exc
        if not any(_inside(real, root) for root in real_roots):
            raise ForbiddenSourceError(
                f"The media path {media_path} leads outside the configured media roots."
            )
        if not real.is_file():
            raise SourceError(f"The media path {media_path} is not a regular file.")
        return real
    raise SourceError(f"The media file {media_path} does not exist.")


def _write_hashed(
    chunks: Iterable[bytes], part: Path, max_bytes: int | None, error: type[MediaError]
) -> tuple[int, str]:
    """Write ``chunks`` to ``part`` while hashing and counting them: the one copy loop that
    local copies and downloads share, so the size limit holds on what is written."""
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise error(f"The media is larger than the limit of {max_bytes} bytes.")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def copy_local(src: Path, dest: Path, *, max_bytes: int | None = None) -> Fetched:
    """Copy ``src`` to ``dest`` in one pass that also computes the SHA-256 checksum."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with open(src, "rb") as reader:
            chunks = iter(lambda: reader.read(_CHUNK), b"")
            size, sha = _write_hashed(chunks, part, max_bytes, MediaLimitError)
        os.replace(part, dest)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise SourceError(f"The media file {src} could not be copied ({exc.strerror}).") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(dest, size, sha, "path", None, None)


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses; IPv4 embedded in IPv6 is unwrapped."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return is_public_address(embedded)
        if ip.teredo is not None:
            return all(is_public_address(part) for part in ip.teredo)
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _address_policy(allow_private: bool) -> AddressPolicy:
    return (lambda ip: True) if allow_private else is_public_address


def _resolve(host: str, port: int, deadline: float) -> list[IPAddress]:
    """Resolve ``host`` within the time left: the lookup runs in a daemon thread, so a slow
    resolver (an attacker controls the name servers of their own domain) cannot hold the
    request past its deadline; a lookup still running then ends on its own."""
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # any failure is a failed lookup, reported below
            found.append(exc)

    worker = threading.Thread(target=lookup, name="media-fetch-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not found:
        raise DownloadError(f"The host name {host} could not be resolved in time.")
    if isinstance(found[0], BaseException):
        raise DownloadError(f"The host name {host} could not be resolved.") from found[0]
    addresses: list[IPAddress] = []
    for info in found[0]:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _vet(url: str, policy: AddressPolicy, deadline: float) -> tuple[httpx.URL, list[IPAddress]]:
    """Parse and check ``url``; return it with the checked addresses to connect to."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ForbiddenSourceError("The media URL is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https"):
        scheme = parsed.scheme or "none"
        raise ForbiddenSourceError(f"Only http and https URLs are allowed, not {scheme}.")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise ForbiddenSourceError("The media URL has no host name.")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise ForbiddenSourceError(f"The media URL has the invalid port {port}.")
    addresses = _resolve(host, port, deadline)
    if not addresses:
        raise DownloadError(f"The host name {host} could not be resolved.")
    for ip in addresses:
        if not policy(ip):
            raise ForbiddenSourceError(
                f"The host {host} resolves to {ip}, which is not a public address."
            )
    return parsed, addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _send(
    pool: httpcore.ConnectionPool,
    target: httpx.URL,
    addresses: list[IPAddress],
    limits: FetchLimits,
) -> httpcore.Response:
    """GET ``target`` from the first of its checked addresses that accepts a connection; the
    request goes to the IP, the ``Host`` header and TLS SNI carry the original name."""
    host = target.raw_host.decode("ascii")
    headers = [
        (b"Host", target.netloc),
        (b"User-Agent", _USER_AGENT.encode()),
        (b"Accept-Encoding", b"identity"),
    ]
    if target.userinfo:
        token = base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
        headers.append((b"Authorization", f"Basic {token}".encode()))
    extensions: dict[str, Any] = {"timeout": {"connect": limits.connect_timeout_s}}
    if target.scheme == "https" and not _is_ip_literal(host):
        extensions["sni_hostname"] = host
    failure: httpcore.ConnectError | None = None
    for ip in addresses:
        url = httpcore.URL(
            scheme=target.raw_scheme,
            host=str(ip).encode(),
            port=target.port,
            target=target.raw_path,
        )
        try:
            return pool.handle_request(
                httpcore.Request("GET", url, headers=headers, extensions=extensions)
            )
        except httpcore.ConnectError as exc:
            failure = exc
    if failure is not None:
        raise failure
    raise DownloadError(f"The host {host} has no address to connect to.")


def _raw_body(response: httpcore.Response, limits: FetchLimits, deadline: float) -> Iterator[bytes]:
    """The body as received (before content decoding), bounded in size and time."""
    declared = header_value(response, b"content-length") or ""
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise DownloadError(
            f"The download is {int(declared)} bytes, over the limit of {limits.max_bytes} bytes."
        )
    received = 0
    for chunk in response.iter_stream():
        received += len(chunk)
        if received > limits.max_bytes:
            raise DownloadError(
                f"The download is larger than the limit of {limits.max_bytes} bytes."
            )
        if time.monotonic() > deadline:
            raise DownloadError(f"The download took longer than {limits.timeout_s:g} seconds.")
        yield chunk


def _fetch_once(
    pool: httpcore.ConnectionPool,
    target: httpx.URL,
    addresses: list[IPAddress],
    part: Path,
    limits: FetchLimits,
    deadline: float,
) -> tuple[str | None, tuple[int, str, str | None] | None]:
    """One hop: (redirect location, None) or (None, (size, sha256, content type))."""
    host = target.host
    response = _send(pool, target, addresses, limits)
    try:
        status = response.status
        if status in _REDIRECT_STATUSES:
            location = header_value(response, b"location")
            if not location:
                raise DownloadError(f"The server {host} redirected without a location.")
            return location, None
        if not 200 <= status < 300:
            raise DownloadError(f"The server {host} answered HTTP status {status}.")
        encoding = header_value(response, b"content-encoding")
        body = decoded_body(_raw_body(response, limits, deadline), encoding, host)
        size, sha = _write_hashed(body, part, limits.max_bytes, DownloadError)
        return None, (size, sha, header_value(response, b"content-type"))
    finally:
        response.close()


def _redirect_target(target: httpx.URL, location: str, host: str) -> str:
    import httpx

    try:
        return str(target.join(location))
    except httpx.InvalidURL as exc:
        raise DownloadError(f"The server {host} redirected to an invalid address.") from exc


def download(
    url: str,
    dest: Path,
    limits: FetchLimits,
    *,
    address_allowed: AddressPolicy | None = None,
) -> Fetched:
    """Download ``url`` to ``dest`` under ``limits``; see the module docstring for the rules."""
    policy = address_allowed or _address_policy(limits.allow_private)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    deadline = time.monotonic() + limits.timeout_s
    current = url
    host = "the server"
    pool = deadline_pool(deadline)
    try:
        with pool:
            for _ in range(limits.max_redirects + 1):
                target, addresses = _vet(current, policy, deadline)
                host = target.host
                location, saved = _fetch_once(pool, target, addresses, part, limits, deadline)
                if saved is None:
                    current = _redirect_target(target, location or "", host)
                    continue
                os.replace(part, dest)
                final_url = str(target.copy_with(userinfo=b""))  # never store credentials
                return Fetched(dest, saved[0], saved[1], "url", final_url, saved[2])
            raise DownloadError(
                f"The download was redirected more than {limits.max_redirects} times."
            )
    except httpcore.TimeoutException as exc:
        part.unlink(missing_ok=True)
        if time.monotonic() >= deadline:
            raise DownloadError(
                f"The download took longer than {limits.timeout_s:g} seconds."
            ) from exc
        raise DownloadError(f"The download from {host} timed out.") from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The download from {host} failed: {failure_reason(exc)}.") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
