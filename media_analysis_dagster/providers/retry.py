"""Retries of provider calls: transient provider errors only, with ``net.backoff``'s delays.

The SDK clients are built with their own retries switched off (openai ``max_retries=0``,
deepgram ``max_retries=0``), so this is the only retry layer and attempts are not multiplied.
The delay policy (full jitter, Retry-After as a floor) is ``net.backoff``'s, shared with every
other retry loop; what is provider-specific here is which errors are worth another attempt.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from media_analysis_dagster.net.backoff import backoff_delay, parse_retry_after, retry_call

from .errors import TransientProviderError

__all__ = ["backoff_delay", "call_with_retries", "parse_retry_after"]

T = TypeVar("T")
log = logging.getLogger(__name__)


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

    def retrying(n: int, exc: BaseException, delay: float) -> None:
        name = type(exc).__name__
        log.info("%s: %s; retry %d/%d in %.2fs", provider, name, n, attempts - 1, delay)
        if on_retry is not None and isinstance(exc, TransientProviderError):
            on_retry(n, exc, delay)

    return retry_call(
        fn,
        attempts=attempts,
        base_delay=base_delay,
        max_delay=max_delay,
        retryable=(TransientProviderError,),
        sleep=sleep,
        on_retry=retrying,
        max_retry_after=max_retry_after,
        rng=rng,
    )
