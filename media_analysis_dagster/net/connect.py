"""Connect to a checked address, never to a name: the one way ``net/`` sends a request.

``resolve.vet`` resolves the host once and checks every address against the allow list; the
request then goes to one of those addresses itself — the request URL carries the IP, the
``Host`` header and TLS SNI (``sni_hostname``, which also makes TLS check the certificate against
the name) carry the original name — so no second lookup (a DNS rebinding) can swap in an
internal address. The next address is tried only when one refuses the connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpcore
import httpx

from .addresses import IPAddress, is_ip_literal


def send_to_checked(
    pool: httpcore.ConnectionPool,
    method: str,
    target: httpx.URL,
    addresses: Sequence[IPAddress],
    headers: Sequence[tuple[str | bytes, str | bytes]],
    *,
    content: bytes | None = None,
    extensions: dict[str, Any] | None = None,
) -> httpcore.Response:
    """Send ``method target`` to the first of ``addresses`` that accepts a connection (a
    ``Host`` header naming ``target`` is added; the caller's own is dropped)."""
    host = target.raw_host.decode("ascii")
    sent: list[tuple[str | bytes, str | bytes]] = [(b"Host", target.netloc)]
    sent += [(k, v) for k, v in headers if _name(k) != "host"]
    ext = dict(extensions or {})
    if target.scheme == "https" and not is_ip_literal(host):
        ext["sni_hostname"] = host
    failure: httpcore.ConnectError | None = None
    for ip in addresses:
        url = httpcore.URL(
            scheme=target.raw_scheme,
            host=str(ip).encode(),
            port=target.port,
            target=target.raw_path,
        )
        request = httpcore.Request(method, url, headers=sent, content=content, extensions=ext)
        try:
            return pool.handle_request(request)
        except httpcore.ConnectError as exc:
            failure = exc
    if failure is None:
        raise httpcore.ConnectError(f"the host {host} has no address to connect to")
    raise failure


def _name(key: str | bytes) -> str:
    return (key.decode("latin-1") if isinstance(key, bytes) else key).lower()
