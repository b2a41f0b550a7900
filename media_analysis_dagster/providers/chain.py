"""Fallback chains: try providers in order until one succeeds, and record every attempt.

The attempts become ``provider_chain`` on the request row, so an operator can see why the
transcript came from groq (deepgram answered 503 three times) and what each call cost. A chain
never raises for a provider failure: the outcome says whether anything succeeded, and the
``analyze`` op decides whether a missing result fails the request.

Under a cost cap every paid call first reserves the most it can cost (``estimate_cost`` of the
provider, from ``pricing``'s bounds) and runs only if that fits; the reservation then becomes
the actual cost. Tasks of one request run at the same time, so a check of what was spent
before the call would let them all pass together and overrun the cap.

A chain can be watched (``ChainWatch``): it is told which provider is called, on which attempt,
and how long the wait before a retry is, so a step's progress lines can say "waiting for openai
(attempt 2 of 4)". An offline provider's own work (seconds transcribed) reaches the watch
through `work_progress`, set for the duration of each call.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from .base import AnalysisTask, Provider, ProviderResult
from .errors import ProviderError
from .retry import call_with_retries

DEFAULT_CHAINS: dict[str, list[str]] = {
    "transcription": ["deepgram", "groq", "openai", "internal"],
    "vision_analysis": ["minimax", "openai", "anthropic", "google"],
    "summary": ["openai", "anthropic", "minimax", "groq", "internal"],
}


OnProgress = Callable[[float, float], None]
DEFAULT_ATTEMPTS = 4  # call_with_retries' default, when retry_kwargs do not say


class ChainWatch(Protocol):
    """Told what a chain is doing (``pipeline.progress.ProviderCalls`` turns it into lines)."""

    def calling(
        self, provider: str, attempt: int, attempts: int, delay_s: float, reason: str | None
    ) -> None:
        """Attempt ``attempt`` of ``attempts`` of ``provider`` starts in ``delay_s`` seconds
        (a retry's wait, after ``reason``; 0 and None for a first attempt)."""
        ...

    def working(self, done: float, total: float) -> None:
        """An offline provider's own progress, in its unit (seconds of audio transcribed)."""
        ...


_work_progress: ContextVar[OnProgress | None] = ContextVar("work_progress", default=None)


def work_progress() -> OnProgress | None:
    """The ``on_progress`` of the provider call this thread is making for a watched chain, or
    None: how an offline provider (local speech-to-text) reports seconds done without a
    parameter on every provider's ``analyze``."""
    return _work_progress.get()


@contextmanager
def _reporting(on_progress: OnProgress | None) -> Iterator[None]:
    token = _work_progress.set(on_progress)
    try:
        yield
    finally:
        _work_progress.reset(token)


@dataclass(frozen=True)
class Reservation:
    """The answer to ``Budget.reserve``: whether ``amount_usd`` is held for one call, and what
    the request had spent and held for other calls at that moment (for the skip reason)."""

    granted: bool
    amount_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0


class Budget(Protocol):
    """A request's cost cap, shared by every call the request makes.

    ``reserve`` must be atomic against every other caller (other threads, other runs of the same
    request): it grants ``amount`` only if spent + held + amount stays within ``max_usd``.
    ``settle`` replaces a granted reservation by what the call actually cost (0.0 when it
    failed). The store-backed one is ``pipeline.budget.StoreBudget``; providers know no database.
    """

    @property
    def max_usd(self) -> float | None: ...

    def reserve(self, amount_usd: float) -> Reservation: ...

    def settle(self, reservation: Reservation, actual_usd: float) -> None: ...


CAP_TOLERANCE_USD = 1e-12  # float rounding, not money: sums of exact fits may land 1 ulp over


class MemoryBudget:
    """A ``Budget`` for one process (tests, scripts): a lock instead of a database row."""

    def __init__(self, max_usd: float | None, spent_usd: float = 0.0) -> None:
        self._max_usd = max_usd
        self.spent_usd = spent_usd
        self.reserved_usd = 0.0
        self._lock = threading.Lock()

    @property
    def max_usd(self) -> float | None:
        return self._max_usd

    def reserve(self, amount_usd: float) -> Reservation:
        with self._lock:
            spent, held = self.spent_usd, self.reserved_usd
            cap = self._max_usd
            granted = cap is None or spent + held + amount_usd <= cap + CAP_TOLERANCE_USD
            if granted:
                self.reserved_usd = held + amount_usd
            return Reservation(granted, amount_usd, spent, held)

    def settle(self, reservation: Reservation, actual_usd: float) -> None:
        if not reservation.granted:
            return
        with self._lock:
            self.reserved_usd = max(0.0, self.reserved_usd - reservation.amount_usd)
            self.spent_usd += actual_usd


@dataclass
class Attempt:
    provider: str
    result_type: str
    model: str | None
    status: str  # 'success' | 'error' | 'skipped'
    ms: int = 0
    cost_usd: float = 0.0
    error_type: str | None = None
    error: str | None = None
    retries: int = 0
    estimate_usd: float = 0.0  # the most the call could cost: what the budget held for it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChainOutcome:
    result: ProviderResult | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.result is not None

    @property
    def cost_usd(self) -> float:
        return round(sum(a.cost_usd for a in self.attempts), 8)


def _skip(attempt: Attempt, reason: str) -> None:
    attempt.status, attempt.error_type = "skipped", "BudgetExceededError"
    attempt.error = f"{reason}; paid call not made"


def _reserve(
    budget: Budget | None, provider: Provider, task: AnalysisTask, attempt: Attempt
) -> tuple[bool, Reservation | None]:
    """(make the call?, the reservation to settle after it).

    Free providers and an uncapped budget need no reservation. A paid call whose cost cannot be
    bounded (no price for the model, audio of unknown length) is refused under a cap: holding
    nothing for it is exactly how a cap gets overrun.
    """
    cap = budget.max_usd if budget is not None else None
    if budget is None or cap is None or not provider.paid:
        return True, None
    try:
        estimate = provider.estimate_cost(task)
    except Exception as exc:  # an unreadable image: the call would fail the same way
        attempt.status, attempt.error_type = "error", type(exc).__name__
        attempt.error = f"could not bound the cost of the call: {exc}"[:400]
        return False, None
    if estimate is None:
        _skip(
            attempt,
            f"the cost of this {provider.name} call cannot be bounded in advance (no price for "
            f"{attempt.model or 'its model'}, or audio of unknown length), so the budget cap of "
            f"${cap:.4f} does not allow it",
        )
        return False, None
    attempt.estimate_usd = round(estimate, 8)
    reservation = budget.reserve(estimate)
    if not reservation.granted:
        _skip(
            attempt,
            f"the budget cap of ${cap:.4f} leaves no room for this call (up to ${estimate:.4f}; "
            f"${reservation.spent_usd:.4f} spent, ${reservation.reserved_usd:.4f} held for "
            "calls in flight)",
        )
        return False, None
    return True, reservation


def run_chain(
    task: AnalysisTask,
    providers: Sequence[Provider],
    *,
    budget: Budget | None = None,
    retry_kwargs: Mapping[str, Any] | None = None,
    watch: ChainWatch | None = None,
) -> ChainOutcome:
    """First success wins; a paid call is made only once the budget holds the most it can cost.

    The reservation is settled with the call's actual cost (0.0 when it failed). If the thread
    dies mid-call (``BaseException``) it is left held: the call may have been billed. ``watch``
    is told of every attempt (see `ChainWatch`).
    """
    outcome = ChainOutcome(result=None)
    attempts = int((retry_kwargs or {}).get("attempts", DEFAULT_ATTEMPTS))
    for provider in providers:
        if not provider.supports(task.result_type, task.media_type):
            continue
        attempt = Attempt(provider.name, task.result_type, provider.model_for(task.result_type), "")
        outcome.attempts.append(attempt)
        go, reservation = _reserve(budget, provider, task, attempt)
        if not go:
            continue

        def count_retry(
            n: int, exc: ProviderError, delay: float, _a: Attempt = attempt, _p: str = provider.name
        ) -> None:
            _a.retries = n
            if watch is not None:
                watch.calling(_p, n + 1, attempts, delay, exc.message)

        if watch is not None:
            watch.calling(provider.name, 1, attempts, 0.0, None)
        started = time.monotonic()
        try:
            with _reporting(watch.working if watch is not None else None):
                result = call_with_retries(
                    functools.partial(provider.analyze, task),
                    provider=provider.name,
                    on_retry=count_retry,
                    **dict(retry_kwargs or {}),
                )
        except ProviderError as exc:
            attempt.status, attempt.error_type = "error", type(exc).__name__
            attempt.error = exc.message
        except Exception as exc:  # a provider bug must not take the other providers down
            attempt.status, attempt.error_type = "error", type(exc).__name__
            attempt.error = f"unexpected {type(exc).__name__}: {exc}"[:400]
        else:
            attempt.status = "success"
            attempt.model = result.model_name or attempt.model
            attempt.cost_usd = result.cost_usd
            outcome.result = result
        finally:
            attempt.ms = int((time.monotonic() - started) * 1000)
        if budget is not None and reservation is not None:
            budget.settle(reservation, attempt.cost_usd)
        if outcome.result is not None:
            break
    return outcome
