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
  second lookup can swap in an internal address. Environment proxies are ignored
  (``trust_env=False``), because a proxy would resolve the name itself.
- Size and total time are limited while streaming into a ``.part`` file, which is deleted on any
  failure and renamed only when the download is complete. The time limit is checked between
  chunks; one stalled read is bounded by a read timeout equal to the time left when the request
  started.

Testing seam: :func:`download` accepts ``address_allowed``, a predicate that replaces the address
policy derived from ``FetchLimits.allow_private``. Tests pass "loopback only" so a local server can
answer while a redirect to, say, 169.254.169.254 is still refused by the re-check before any
connection is attempted. Production callers do not pass it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from media_analysis_dagster.media.errors import DownloadError, ForbiddenSourceError, SourceError

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


def _stream_copy(reader: BinaryIO, part: Path, max_bytes: int | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        while chunk := reader.read(_CHUNK):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise DownloadError(f"The media is larger than the limit of {max_bytes} bytes.")
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
            size, sha = _stream_copy(reader, part, max_bytes)
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


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DownloadError(f"The host name {host} could not be resolved.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def _vet(url: str, policy: AddressPolicy) -> tuple[httpx.URL, list[IPAddress]]:
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
    addresses = _resolve(host, port)
    if not addresses:
        raise DownloadError(f"The host name {host} could not be resolved.")
    for ip in addresses:
        if not policy(ip):
            raise ForbiddenSourceError(
                f"The host {host} resolves to {ip}, which is not a public address."
            )
    return parsed, addresses


def check_url_allowed(url: str, *, allow_private: bool) -> None:
    """Raise ForbiddenSourceError unless ``url`` is http(s) to allowed addresses only."""
    _vet(url, _address_policy(allow_private))


def _send(
    client: httpx.Client,
    target: httpx.URL,
    addresses: list[IPAddress],
    deadline: float,
    limits: FetchLimits,
) -> httpx.Response:
    """GET ``target`` from the first of its checked addresses that accepts a connection."""
    import httpx

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DownloadError(f"The download took longer than {limits.timeout_s:g} seconds.")
    host = target.raw_host.decode("ascii")
    extensions: dict[str, object] = {}
    if target.scheme == "https" and not _is_ip_literal(host):
        extensions["sni_hostname"] = host
    failure: httpx.ConnectError | None = None
    for ip in addresses:
        request = client.build_request(
            "GET",
            target.copy_with(host=str(ip)),
            headers={"Host": target.netloc.decode("ascii"), "Accept-Encoding": "identity"},
            timeout=httpx.Timeout(remaining, connect=min(limits.connect_timeout_s, remaining)),
            extensions=extensions,
        )
        try:
            return client.send(request, stream=True)
        except httpx.ConnectError as exc:
            failure = exc
    raise failure or DownloadError(f"The host {host} has no address to connect to.")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _save(
    response: httpx.Response, part: Path, limits: FetchLimits, deadline: float
) -> tuple[int, str]:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise DownloadError(
            f"The download is {int(declared)} bytes, over the limit of {limits.max_bytes} bytes."
        )
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        for chunk in response.iter_bytes():  # as received, so the deadline is checked often
            size += len(chunk)
            if size > limits.max_bytes:
                raise DownloadError(
                    f"The download is larger than the limit of {limits.max_bytes} bytes."
                )
            if time.monotonic() > deadline:
                raise DownloadError(f"The download took longer than {limits.timeout_s:g} seconds.")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def download(
    url: str,
    dest: Path,
    limits: FetchLimits,
    *,
    address_allowed: AddressPolicy | None = None,
) -> Fetched:
    """Download ``url`` to ``dest`` under ``limits``; see the module docstring for the rules."""
    import httpx

    policy = address_allowed or _address_policy(limits.allow_private)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    deadline = time.monotonic() + limits.timeout_s
    current = url
    host = "the server"
    try:
        headers = {"User-Agent": _USER_AGENT}
        with httpx.Client(follow_redirects=False, trust_env=False, headers=headers) as client:
            for _ in range(limits.max_redirects + 1):
                target, addresses = _vet(current, policy)
                host = target.host
                response = _send(client, target, addresses, deadline, limits)
                try:
                    status = response.status_code
                    if status in _REDIRECT_STATUSES:
                        location = response.headers.get("location")
                        if not location:
                            raise DownloadError(f"The server {host} redirected without a location.")
                        current = str(target.join(location))
                        continue
                    if not 200 <= status < 300:
                        raise DownloadError(f"The server {host} answered HTTP status {status}.")
                    size, sha = _save(response, part, limits, deadline)
                    content_type = response.headers.get("content-type")
                finally:
                    response.close()
                os.replace(part, dest)
                final_url = str(target.copy_with(userinfo=b""))  # never store credentials
                return Fetched(dest, size, sha, "url", final_url, content_type)
            raise DownloadError(
                f"The download was redirected more than {limits.max_redirects} times."
            )
    except httpx.TimeoutException as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"The download from {host} timed out.") from exc
    except httpx.HTTPError as exc:
        part.unlink(missing_ok=True)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DownloadError(f"The download from {host} failed: {reason}.") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
