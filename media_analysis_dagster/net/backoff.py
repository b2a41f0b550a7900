"""The one backoff: exponential, capped, full jitter, a server's Retry-After as a floor.

Every retry loop of the project (provider calls, callback deliveries, database connects, pool
slot polling) takes its delays from :func:`backoff_delay`, so they all behave alike and can be
reasoned about in one place. Full jitter (a uniform delay between 0 and the capped exponential)
spreads out the clients that failed together, so a receiver recovering from an outage is not hit
by every sender at the same instant; a server's Retry-After is never shortened.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


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
    cap = min(max_delay, base_delay * (2 ** min(retry_index, 62)))
    delay = (rng or random).uniform(0.0, cap)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def _retry_after_of(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    return float(value) if isinstance(value, int | float) else None


def retry_call(
    fn: Callable[[], T],
    *,
    attempts: int,
    base_delay: float,
    max_delay: float,
    retryable: tuple[type[BaseException], ...],
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
    max_retry_after: float | None = None,
    rng: random.Random | None = None,
) -> T:
    """Call ``fn`` up to ``attempts`` times while it raises one of ``retryable``.

    Anything else propagates at once, and so does the last failure. An exception's
    ``retry_after`` attribute (seconds), when it has one, is a floor for the delay; one longer
    than ``max_retry_after`` is not waited for (the error is raised, so a caller with another
    option moves on instead of blocking). ``on_retry(n, error, delay)`` runs before the n-th
    retry's sleep, so callers can log and count.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for index in range(attempts):
        try:
            return fn()
        except retryable as exc:
            retry_after = _retry_after_of(exc)
            if index + 1 >= attempts:
                raise
            too_long = max_retry_after is not None and (retry_after or 0.0) > max_retry_after
            if too_long:
                raise
            delay = backoff_delay(
                index,
                base_delay=base_delay,
                max_delay=max_delay,
                retry_after=retry_after,
                rng=rng,
            )
            if on_retry is not None:
                on_retry(index + 1, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
