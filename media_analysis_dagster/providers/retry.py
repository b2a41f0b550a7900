"""Retries with exponential backoff and full jitter, for transient provider errors only.

The SDK clients are built with their own retries switched off (openai ``max_retries=0``,
deepgram ``max_retries=0``), so this is the only retry layer and attempts are not multiplied.
Full jitter (a uniform delay between 0 and the capped exponential) spreads out the clients that
failed together; a server's Retry-After is a floor, never shortened.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

from .errors import PermanentProviderError, TransientProviderError

T = TypeVar("T")
log = logging.getLogger(__name__)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(
    retry_index: int,
    *,
    base_delay: float,
    max_delay: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Full-jitter delay before retry number ``retry_index`` (0-based), at least Retry-After."""
    cap = min(max_delay, base_delay * (2**retry_index))
    delay = (rng or random).uniform(0.0, cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def call_with_retries(
    fn: Callable[[], T],
    *,
    provider: str,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    sleep: Callable[[float], None] = time.sleep,
    max_retry_after: float = 120.0,
    on_retry: Callable[[int, TransientProviderError, float], None] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn`` up to ``attempts`` times while it raises ``TransientProviderError``.

    ``PermanentProviderError`` (and anything else) propagates at once. A Retry-After longer
    than ``max_retry_after`` is not waited for: the error is raised so the chain can move on to
    another provider instead of blocking a run for minutes. ``on_retry(n, error, delay)`` is
    called before each sleep so callers can count retries.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return fn()
        except PermanentProviderError:
            raise
        except TransientProviderError as exc:
            if attempt + 1 >= attempts:
                raise
            if exc.retry_after is not None and exc.retry_after > max_retry_after:
                raise
            delay = backoff_delay(
                attempt,
                base_delay=base_delay,
                max_delay=max_delay,
                retry_after=exc.retry_after,
                rng=rng,
            )
            log.info(
                "%s: %s; retry %d/%d in %.2fs",
                provider,
                type(exc).__name__,
                attempt + 1,
                attempts - 1,
                delay,
            )
            if on_retry is not None:
                on_retry(attempt + 1, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
