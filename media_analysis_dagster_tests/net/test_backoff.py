"""The one backoff: capped full jitter, Retry-After as a floor, and the generic retry loop."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from media_analysis_dagster.net.backoff import backoff_delay, parse_retry_after, retry_call


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retry_after = retry_after


def failing(errors: list[BaseException]):
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return fn, calls


def test_delays_are_capped_full_jitter_with_a_retry_after_floor() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(n, base_delay=0.5, max_delay=2, rng=rng) for n in range(50)]
    assert all(0 <= d <= min(2, 0.5 * 2**n) for n, d in enumerate(delays))
    assert max(delays[10:]) > 1.0  # the cap grows to max_delay, not beyond
    assert backoff_delay(3, base_delay=0.5, max_delay=2, retry_after=9, rng=rng) == 9
    assert backoff_delay(10_000, base_delay=1, max_delay=4) <= 4  # no overflow


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (parse_retry_after({"retry-after": future}) or 0) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_retry_call_retries_only_what_it_is_told() -> None:
    sleeps: list[float] = []
    seen: list[tuple[int, float]] = []
    fn, calls = failing([Flaky(), Flaky(retry_after=0.25)])
    result = retry_call(
        fn,
        attempts=3,
        base_delay=0.01,
        max_delay=0.02,
        retryable=(Flaky,),
        sleep=sleeps.append,
        on_retry=lambda n, _exc, delay: seen.append((n, delay)),
    )
    assert result == "ok" and len(calls) == 3
    assert 0 <= sleeps[0] <= 0.01 and sleeps[1] == 0.25  # Retry-After is a floor
    assert [n for n, _ in seen] == [1, 2] and [d for _, d in seen] == sleeps

    fn, calls = failing([KeyError("x")])
    with pytest.raises(KeyError):
        retry_call(
            fn, attempts=5, base_delay=0, max_delay=0, retryable=(Flaky,), sleep=sleeps.append
        )
    assert len(calls) == 1


def test_retry_call_gives_up() -> None:
    fn, calls = failing([Flaky()] * 10)
    with pytest.raises(Flaky):
        retry_call(
            fn, attempts=3, base_delay=0, max_delay=0, retryable=(Flaky,), sleep=lambda s: None
        )
    assert len(calls) == 3
    fn, calls = failing([Flaky(retry_after=3600)])
    with pytest.raises(Flaky):  # not waited for: the caller moves on
        retry_call(
            fn,
            attempts=3,
            base_delay=0,
            max_delay=0,
            retryable=(Flaky,),
            sleep=lambda s: None,
            max_retry_after=60,
        )
    assert len(calls) == 1
    with pytest.raises(ValueError):
        retry_call(fn, attempts=0, base_delay=0, max_delay=0, retryable=(Flaky,))
