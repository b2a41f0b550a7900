"""Which addresses an outbound connection may reach: public ones, plus what an operator allows.

Media URLs and callback URLs come from whoever submits a request, so both are SSRF vectors: a
URL naming ``169.254.169.254`` or an internal service must not be fetched or posted to. One
grammar serves both operator settings, ``MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS`` (downloads) and
``MEDIA_ANALYSIS_CALLBACK_ALLOW`` (callbacks), so an operator learns it once:

- ``""``, ``false``, ``off``, ``no``, ``0``: public addresses only (the default);
- ``true``, ``on``, ``yes``, ``1``, ``all``: any address;
- otherwise a comma-separated list of networks (``10.0.0.0/8``), addresses (``127.0.0.1``) and
  host names (``n8n.internal``: the name vouches for whatever it resolves to).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NONE = frozenset({"", "false", "off", "no", "0"})
_ALL = frozenset({"true", "on", "yes", "1", "all"})
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def is_public_address(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses; IPv4 embedded in IPv6 (mapped, 6to4,
    Teredo) is unwrapped, so ``::ffff:127.0.0.1`` is as private as ``127.0.0.1``."""
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


def is_ip_literal(host: str) -> bool:
    """True when ``host`` is an address rather than a name (TLS then sends no SNI)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


@dataclass(frozen=True)
class AllowList:
    """Addresses a connection may reach besides public ones (see the module docstring)."""

    any_address: bool = False
    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, spec: str | None, variable: str) -> AllowList:
        """Parse one setting; a bad entry raises ``ValueError`` naming ``variable`` and the entry,
        so a typo fails when the configuration loads, not at the first request."""
        text = (spec or "").strip().lower()
        if text in _NONE:
            return cls()
        if text in _ALL:
            return cls(any_address=True)
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for raw in text.split(","):
            entry = _normal_host(raw)
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry in _NONE | _ALL:
                raise ValueError(
                    f"{variable} has {raw.strip()!r} in a list; on/off words stand alone."
                )
            if not _HOST_NAME.fullmatch(entry) or entry.rsplit(".", 1)[-1].isdigit():
                raise ValueError(
                    f"{variable} has the entry {raw.strip()!r}, which is not a network, an "
                    "address or a host name."
                )
            hosts.add(entry)
        return cls(networks=tuple(networks), hosts=frozenset(hosts))

    def permits(self, host: str, ip: IPAddress) -> bool:
        """Public addresses always; otherwise everything (``true``), the address's network, or
        the host name the address was resolved from. An IPv4-mapped IPv6 address
        (``::ffff:10.1.2.3``) counts as the IPv4 address it carries."""
        if self.any_address or is_public_address(ip):
            return True
        if _normal_host(host) in self.hosts:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(
            candidate.version == net.version and candidate in net
            for candidate in candidates
            for net in self.networks
        )
