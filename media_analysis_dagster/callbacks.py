"""Completion callbacks: one signed JSON POST to ``callback_url`` when a request ends.

A caller (n8n's Wait node, any webhook) gives ``callback_url`` in the run config or in a pending
row's ``user_metadata``; when the request ends (completed, failed or cancelled) the pipeline
builds one document with :func:`build_payload` and hands it to :func:`deliver`.

Why it is built this way:

- The URL comes from whoever submits a request, so it is an SSRF vector exactly like
  ``media_url`` (DESIGN §6): http(s) only; every address the host resolves to must be public
  unless the operator's allow list (``MEDIA_ANALYSIS_CALLBACK_ALLOW``: networks and host names,
  e.g. ``"10.0.0.0/8,n8n.internal"``) names it; the check runs again for every attempt (DNS may
  change between attempts) and the connection goes to the checked address itself (the request
  URL carries the IP, ``Host`` and TLS SNI the name), so no second lookup can swap in another
  address. Redirects are never followed and no proxy from the environment is used.
- The receiver authenticates the sender with ``X-Media-Analysis-Signature: sha256=<hex>``, an
  HMAC-SHA256 of the exact body bytes under ``MEDIA_ANALYSIS_CALLBACK_SECRET`` (:func:`sign`,
  :func:`verify`).
- A receiver may see a delivery twice (a retry after a lost answer); the header
  ``X-Media-Analysis-Delivery: <request_id>:<status>:<run_id>`` names the event so it can drop
  the duplicate.
- Delivery never raises: a request's outcome is in the tables whatever the receiver does, so
  the result is a :class:`DeliveryOutcome` to log and record. Connection errors, timeouts, 5xx,
  408, 409 (n8n's answer while the execution that will wait is still running), 425 and 429 are
  retried with exponential backoff and jitter; any other answer is final.

Pure module: no Dagster import, no environment reads; settings are parameters.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from media_analysis_dagster.media.fetch import is_public_address

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SIGNATURE_HEADER = "X-Media-Analysis-Signature"
DELIVERY_HEADER = "X-Media-Analysis-Delivery"
EVENT = "media_analysis.request.finished"
STATUSES = ("completed", "failed", "cancelled")
_USER_AGENT = "media-analysis-dagster/0.1 (callback)"
_TEXT_LIMIT = 4000  # characters of summary / error text carried in a callback
# 409: n8n's resume URL answers it while the execution that is about to wait still runs.
_RETRY_STATUSES = {408, 409, 425, 429}
_DETAIL_KEYS = ("run_id", "step", "error_type", "message", "hint", "hints")


class CallbackError(ValueError):
    """A callback URL or allow list that can never be delivered to or parsed (not retried)."""


# -- the document ------------------------------------------------------------------------------
def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= _TEXT_LIMIT:
        return text
    return text[: _TEXT_LIMIT - 1] + "…"


def build_payload(
    *,
    request_id: str,
    status: str,
    dagster_run_id: str | None,
    error_message: str | None = None,
    error_details: Mapping[str, Any] | None = None,
    summary: str | None = None,
    result_types: Sequence[str] = (),
    files: Sequence[Mapping[str, Any]] = (),
    api_costs: Mapping[str, Any] | None = None,
    ui_base_url: str | None = None,
    finished_at: str | None = None,
) -> dict[str, Any]:
    """The one JSON document a receiver gets when a request ends.

    It carries what a workflow needs to carry on without querying the tables (status, the
    summary text, which results exist, where the files are, costs) but never the full result
    contents, so it stays small. ``error_details`` is cut to its readable keys; ``files`` are
    ``{file_type, file_name, url}`` (``url``: the ``remote_url`` or path a reader can use).
    """
    if status not in STATUSES:
        raise CallbackError(f"A callback status must be one of {', '.join(STATUSES)}.")
    details = {k: error_details[k] for k in _DETAIL_KEYS if error_details and k in error_details}
    if isinstance(details.get("message"), str):
        details["message"] = _clip(details["message"])
    ui_url = None
    if ui_base_url and dagster_run_id:
        ui_url = f"{ui_base_url.rstrip('/')}/runs/{dagster_run_id}"
    return {
        "event": EVENT,
        "request_id": str(request_id),
        "status": status,
        "error_message": _clip(error_message),
        "error_details": details or None,
        "summary": _clip(summary),
        "result_types": sorted(set(result_types)),
        "files": [
            {"file_type": f.get("file_type"), "file_name": f.get("file_name"), "url": f.get("url")}
            for f in files
        ],
        "api_costs": dict(api_costs) if api_costs else {},
        "dagster_run_id": dagster_run_id,
        "dagster_ui_url": ui_url,
        "finished_at": finished_at,
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON with sorted keys."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``body`` under ``secret`` (GitHub's webhook scheme)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    """What a receiver does with the header: constant-time comparison with our own signature."""
    return signature is not None and hmac.compare_digest(sign(body, secret), signature.strip())


def delivery_id(payload: Mapping[str, Any]) -> str:
    """``<request_id>:<status>:<run_id>``: the same for every attempt of one event."""
    return f"{payload['request_id']}:{payload['status']}:{payload.get('dagster_run_id') or ''}"


# -- where a callback may go ----------------------------------------------------------------------
@dataclass(frozen=True)
class CallbackAllow:
    """Networks and host names a callback may reach besides public addresses."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    def permits(self, host: str, ip: IPAddress) -> bool:
        """Public addresses always; otherwise the address's network or the host name must be
        listed (a name like ``n8n.internal`` vouches for whatever it resolves to)."""
        if is_public_address(ip) or host.lower().rstrip(".") in self.hosts:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)


def parse_allow(spec: str | None) -> CallbackAllow:
    """Parse ``MEDIA_ANALYSIS_CALLBACK_ALLOW``: comma-separated networks (``10.0.0.0/8``),
    addresses (``127.0.0.1``) and host names (``n8n.internal``); empty means public only."""
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for raw in (spec or "").split(","):
        item = raw.strip().lower().rstrip(".")
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
            continue
        except ValueError:
            pass
        label = item.replace("-", "").replace("_", "")
        if "/" in item or not all(part.isalnum() for part in label.split(".")):
            raise CallbackError(f"The callback allow list entry {raw.strip()!r} is not valid.")
        hosts.add(item)
    return CallbackAllow(tuple(networks), frozenset(hosts))


def _resolve(host: str, port: int, timeout: float) -> list[IPAddress]:
    """Resolve within ``timeout`` in a daemon thread, so a slow name server cannot hold us."""
    found: list[Any] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # a failed lookup, reported below
            found.append(exc)

    worker = threading.Thread(target=lookup, name="callback-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if not found or isinstance(found[0], BaseException):
        raise httpx.ConnectError(f"the host name {host} could not be resolved")
    out: list[IPAddress] = []
    for info in found[0]:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if ip not in out:
            out.append(ip)
    return out


def check_url(url: str) -> httpx.URL:
    """Refuse what no attempt could ever deliver to: not http(s), no host, bad port."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise CallbackError("The callback URL is not a valid URL.") from exc
    if parsed.scheme not in ("http", "https"):
        raise CallbackError(
            f"Only http and https callback URLs are allowed, not {parsed.scheme or 'none'}."
        )
    if not parsed.raw_host:
        raise CallbackError("The callback URL has no host name.")
    return parsed


def vetted_addresses(target: httpx.URL, allow: CallbackAllow, timeout: float) -> list[IPAddress]:
    """The target host's addresses, every one permitted, or :class:`CallbackError`."""
    host = target.raw_host.decode("ascii")
    port = target.port or (443 if target.scheme == "https" else 80)
    addresses = _resolve(host, port, timeout)
    for ip in addresses:
        if not allow.permits(host, ip):
            raise CallbackError(
                f"The callback host {host} resolves to {ip}, which is not a public address "
                "and not in MEDIA_ANALYSIS_CALLBACK_ALLOW."
            )
    return addresses


# -- delivery ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one callback, to log and record (never raised)."""

    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    elapsed_ms: int


class _Retryable(Exception):
    """One attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, status_code: int | None = None, wait: float = 0.0) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.wait = wait


def _transport_reason(exc: httpx.TransportError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"the receiver did not answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        return "the receiver refused or dropped the connection"
    return "the connection to the receiver failed"


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else 0.0


def _post_once(
    client: httpx.Client,
    target: httpx.URL,
    body: bytes,
    headers: dict[str, str],
    allow: CallbackAllow,
    timeout: float,
) -> int:
    """One attempt: resolve and vet the host again, POST to the first checked address that
    accepts a connection; return a final status code or raise :class:`_Retryable`."""
    host = target.raw_host.decode("ascii")
    try:
        addresses = vetted_addresses(target, allow, timeout)
    except httpx.TransportError as exc:
        raise _Retryable(str(exc)) from exc
    extensions: dict[str, Any] = {}
    if target.scheme == "https" and not _is_ip(host):
        extensions["sni_hostname"] = host  # TLS checks the certificate against the name
    sent = {**headers, "Host": target.netloc.decode("ascii")}
    failure: httpx.TransportError | None = None
    for ip in addresses:
        url = target.copy_with(host=str(ip))
        request = client.build_request("POST", url, content=body, headers=sent)
        request.extensions.update(extensions)
        try:
            response = client.send(request, stream=True)  # the body is never read
        except httpx.ConnectError as exc:
            failure = exc
            continue
        except httpx.TransportError as exc:
            raise _Retryable(_transport_reason(exc, timeout)) from exc
        response.close()
        code = response.status_code
        if code in _RETRY_STATUSES or code >= 500:
            raise _Retryable(f"the receiver answered {code}", code, _retry_after(response))
        return code
    assert failure is not None
    raise _Retryable(_transport_reason(failure, timeout)) from failure


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs a large part of a second per client."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _client(timeout: float) -> httpx.Client:
    """One client per delivery; it never follows redirects and ignores proxy variables."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # a proxy would resolve the name itself
        transport=httpx.HTTPTransport(verify=_tls_context(), retries=0, trust_env=False),
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _backoff(attempt: int, base_delay: float, max_delay: float) -> float:
    """Exponential backoff with jitter: half fixed, half random, so receivers recovering from
    an outage are not hit by every sender at the same instant."""
    ceiling = min(max_delay, base_delay * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def deliver(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None = None,
    allow: CallbackAllow | str | None = None,
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """POST ``payload`` to ``url`` at most ``attempts`` times; never raises for the receiver's
    sake. ``timeout`` bounds the DNS lookup and every connect, write and read of one attempt.
    A refused URL or address is final at once (no request is sent)."""
    started = time.monotonic()
    rules = allow if isinstance(allow, CallbackAllow) else None
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": _USER_AGENT,
        DELIVERY_HEADER: delivery_id(payload),
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)

    def outcome(ok: bool, tries: int, code: int | None, error: str | None) -> DeliveryOutcome:
        elapsed = int((time.monotonic() - started) * 1000)
        return DeliveryOutcome(ok, tries, code, error, elapsed)

    try:
        rules = rules or parse_allow(allow if isinstance(allow, str) else None)
        target = check_url(url)
    except CallbackError as exc:
        return outcome(False, 0, None, str(exc))
    where = f"{target.scheme}://{target.netloc.decode('ascii')}"
    code: int | None = None
    reason = "no attempt was made"
    with _client(timeout) as client:
        for attempt in range(1, max(1, attempts) + 1):
            try:
                code = _post_once(client, target, body, headers, rules, timeout)
            except CallbackError as exc:
                return outcome(False, attempt, None, str(exc))
            except _Retryable as exc:
                code, reason = exc.status_code, str(exc)
                if attempt < attempts:
                    wait = max(exc.wait, _backoff(attempt, base_delay, max_delay))
                    sleep(min(max_delay, wait))
                continue
            if 200 <= code < 300:
                return outcome(True, attempt, code, None)
            kind = "a redirect, which is not followed" if 300 <= code < 400 else "a refusal"
            error = f"The callback to {where} was answered {code} ({kind})."
            return outcome(False, attempt, code, error)
    error = f"The callback to {where} failed after {max(1, attempts)} attempts: {reason}."
    return outcome(False, max(1, attempts), code, error)
