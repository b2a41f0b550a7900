"""Webhook delivery: one signed JSON POST to a URL a request's submitter chose.

Why it is built this way:

- The URL comes from whoever submits a request, so it is an SSRF vector exactly like a
  ``media_url``: http(s) only; every address the host resolves to must be public unless the
  operator's :class:`~.addresses.AllowList` (``MEDIA_ANALYSIS_CALLBACK_ALLOW``) permits it; the
  check runs again for every attempt (DNS may change between attempts) and the connection goes
  to the checked address itself (the request URL carries the IP, ``Host`` and TLS SNI the name).
  Redirects are never followed and no proxy from the environment is used.
- One attempt (:func:`post_once`) has one wall-clock deadline over DNS, connect, send and answer,
  and reads at most ``ANSWER_BYTES`` of the answer: a receiver that trickles or never stops
  cannot hold the sender.
- The receiver authenticates the sender with ``X-Media-Analysis-Signature: sha256=<hex>``, an
  HMAC-SHA256 of the exact body bytes (:func:`sign`, :func:`verify`), and drops duplicates by
  ``X-Media-Analysis-Delivery`` (:func:`delivery_id`), the same for every attempt of one event.
- Connection errors, timeouts, 5xx, 408, 409 (n8n's answer while the execution that will wait
  is still running), 425 and 429 are worth another attempt (``SendResult.retryable``); any other
  answer, and a refused URL or address (no request is sent), is final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from .addresses import AllowList, IPAddress
from .backoff import backoff_delay, parse_retry_after
from .connect import send_to_checked
from .deadline import deadline_pool, failure_reason
from .errors import DeadlineExceededError, ForbiddenAddressError, NetError
from .resolve import label, parse_http_url, vet, where

SIGNATURE_HEADER = "X-Media-Analysis-Signature"
DELIVERY_HEADER = "X-Media-Analysis-Delivery"
ALLOW_VARIABLE = "MEDIA_ANALYSIS_CALLBACK_ALLOW"
ANSWER_BYTES = 64 * 1024  # most of a receiver's answer ever read
_USER_AGENT = "media-analysis-dagster/0.1 (callback)"
# 409: n8n's resume URL answers it while the execution that is about to wait still runs.
_RETRY_STATUSES = frozenset({408, 409, 425, 429})


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


@dataclass(frozen=True)
class SendResult:
    """What one attempt did (never raised): to record, and to schedule the next attempt by."""

    delivered: bool
    retryable: bool
    status_code: int | None
    error: str | None
    retry_after_s: float | None
    elapsed_ms: int


def _post(
    target: httpx.URL,
    addresses: list[IPAddress],
    body: bytes,
    headers: Mapping[str, str],
    deadline: float,
) -> tuple[int, dict[str, str]]:
    """POST to the first checked address that accepts a connection
    (``connect.send_to_checked``); read at most ``ANSWER_BYTES`` of the answer; return its status
    and headers."""
    given = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    sent = {"User-Agent": _USER_AGENT, **given, "Content-Length": str(len(body))}
    with deadline_pool(deadline) as pool:
        response = send_to_checked(
            pool, "POST", target, addresses, list(sent.items()), content=body
        )
        _drain(response)
        answer = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
        return response.status, answer


def _drain(response: httpcore.Response) -> None:
    """Read at most ``ANSWER_BYTES`` of the answer's body, then hang up. The status line and
    headers decide the outcome, so a body that trickles past the deadline or breaks off does
    not turn a delivered callback into a failed one (and a duplicate)."""
    try:
        read = 0
        for chunk in response.iter_stream():
            read += len(chunk)
            if read >= ANSWER_BYTES:
                break
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
        pass
    finally:
        response.close()


def _status_result(code: int, answer: dict[str, str], name: str, ms: int) -> SendResult:
    if 200 <= code < 300:
        return SendResult(True, False, code, None, None, ms)
    if code in _RETRY_STATUSES or code >= 500:
        error = f"The callback receiver {name} answered {code}."
        return SendResult(False, True, code, error, parse_retry_after(answer), ms)
    kind = "a redirect, which is not followed" if 300 <= code < 400 else "a refusal"
    return SendResult(
        False, False, code, f"The callback receiver {name} answered {code} ({kind}).", None, ms
    )


def post_once(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    allow: AllowList,
    *,
    timeout_s: float,
) -> SendResult:
    """One delivery attempt within ``timeout_s`` (DNS, connect, send and answer together)."""
    started = time.monotonic()
    deadline = started + timeout_s

    def result(retryable: bool, error: str) -> SendResult:
        ms = int((time.monotonic() - started) * 1000)
        return SendResult(False, retryable, None, error, None, ms)

    try:
        target, addresses = vet(url, allow, deadline, ALLOW_VARIABLE)
    except ForbiddenAddressError as exc:
        return result(False, str(exc))
    except DeadlineExceededError:
        return result(
            True,
            f"The host name of the callback receiver {label(url)} could not be resolved within "
            f"{timeout_s:g} s.",
        )
    except NetError as exc:
        return result(True, str(exc))
    name = where(target)
    try:
        code, answer = _post(target, addresses, body, headers, deadline)
    except httpcore.TimeoutException:
        return result(True, f"The callback receiver {name} did not answer within {timeout_s:g} s.")
    except httpcore.ConnectError:
        return result(True, f"The callback receiver {name} refused or dropped the connection.")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        return result(True, f"The callback to {name} failed: {failure_reason(exc)}.")
    return _status_result(code, answer, name, int((time.monotonic() - started) * 1000))


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one callback over all its attempts, to log and record (never raised)."""

    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None
    elapsed_ms: int


def deliver(
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None = None,
    allow: AllowList | str | None = None,
    attempts: int = 5,
    base_delay: float = 1.0,
    max_delay: float = 30.0,
    timeout: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> DeliveryOutcome:
    """POST ``payload`` to ``url`` at most ``attempts`` times, :func:`post_once` each, with
    :func:`~.backoff.backoff_delay` between them (a Retry-After is honoured up to
    ``max_delay``); never raises for the receiver's sake. ``allow`` as text is parsed as
    ``MEDIA_ANALYSIS_CALLBACK_ALLOW``. Inline delivery holds its caller for the retries; a
    queue that calls :func:`post_once` once per due delivery does not."""
    started = time.monotonic()

    def outcome(ok: bool, tries: int, code: int | None, error: str | None) -> DeliveryOutcome:
        return DeliveryOutcome(ok, tries, code, error, int((time.monotonic() - started) * 1000))

    try:
        rules = allow if isinstance(allow, AllowList) else AllowList.parse(allow, ALLOW_VARIABLE)
        parse_http_url(url)
    except (ValueError, ForbiddenAddressError) as exc:
        return outcome(False, 0, None, str(exc))
    body = encode(payload)
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: delivery_id(payload)}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    attempts = max(1, attempts)
    for attempt in range(1, attempts + 1):
        sent = post_once(url, body, headers, rules, timeout_s=timeout)
        if sent.delivered or not sent.retryable:
            return outcome(sent.delivered, attempt, sent.status_code, sent.error)
        if attempt == attempts:
            reason = (sent.error or "").rstrip(".")
            reason = reason[:1].lower() + reason[1:]
            error = f"The callback failed after {attempts} attempts: {reason}."
            return outcome(False, attempt, sent.status_code, error)
        wait = backoff_delay(
            attempt - 1,
            base_delay=base_delay,
            max_delay=max_delay,
            retry_after=sent.retry_after_s,
            rng=rng,
        )
        sleep(min(max_delay, wait))
    raise AssertionError("unreachable")  # pragma: no cover
