"""``callback_delivery_sensor``: deliver the queued completion callbacks
(``pipeline/callbacks.py``).

Each tick claims the due deliveries (a lease, so two ticks or two daemons never send one twice
at the same time), POSTs each once on a thread of its own (``net.webhooks.post_once``: one
deadline over the whole attempt, the callback allow list, no redirects), and records the outcome:
delivered; given up (a refusal, or the attempts ran out); or due again after a jittered,
growing delay that honours ``Retry-After``. A tick takes at most ``TICK_BUDGET_S`` (well inside
Dagster's 60 s sensor timeout) however many receivers hang, and a hanging receiver only delays
its own delivery: everything else is delivered by the other threads, and by later ticks.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from ..net.backoff import backoff_delay
from ..net.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, encode, post_once, sign
from ..resources import CallbackResource, DatabaseResource
from ..resources.env_values import resolved

WORKERS = 8
TICK_BUDGET_S = 40.0
FIRST_RETRY_S = 2.0
LONGEST_WAIT_S = 300.0
USER_AGENT = "media-analysis-dagster/0.1 (callback)"


def headers_for(
    payload: dict[str, Any], body: bytes, delivery: str, secret: str | None
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: delivery,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return headers


def deliver_due(store: Any, callbacks: CallbackResource, log: Any) -> Counter[str]:
    """One round of deliveries; counts of what happened."""
    allow = callbacks.allow_list()
    per_thread = max(1, int(TICK_BUDGET_S // (callbacks.timeout_s + 1.0)))
    due = store.claim_due_callbacks(
        limit=WORKERS * per_thread, lease_s=TICK_BUDGET_S + callbacks.timeout_s + 5.0
    )
    counts: Counter[str] = Counter()
    if not due:
        return counts

    def attempt(item: dict[str, Any]) -> Any:
        body = encode(item["payload"])
        headers = headers_for(
            item["payload"], body, item["delivery_id"], resolved(callbacks.secret)
        )
        return post_once(item["url"], body, headers, allow, timeout_s=callbacks.timeout_s)

    with ThreadPoolExecutor(WORKERS, thread_name_prefix="callback") as pool:
        outcomes = list(pool.map(attempt, due))
    now = datetime.now(UTC)
    for item, sent in zip(due, outcomes, strict=True):
        tries = item["attempts"] + 1
        where = f"callback {item['delivery_id']} (attempt {tries})"
        if sent.delivered:
            counts["delivered"] += 1
            log.info(f"{where}: delivered, answered {sent.status_code}")
            store.record_callback_attempt(
                item["callback_id"],
                delivered=True,
                status_code=sent.status_code,
                error=None,
                next_attempt_at=None,
            )
            continue
        again = sent.retryable and tries < callbacks.max_attempts
        wait = backoff_delay(
            tries - 1,
            base_delay=FIRST_RETRY_S,
            max_delay=LONGEST_WAIT_S,
            retry_after=sent.retry_after_s,
        )
        counts["retrying" if again else "given_up"] += 1
        log.warning(f"{where}: {sent.error}" + (f"; next try in {wait:.0f} s" if again else ""))
        store.record_callback_attempt(
            item["callback_id"],
            delivered=False,
            status_code=sent.status_code,
            error=sent.error,
            next_attempt_at=now + timedelta(seconds=wait) if again else None,
        )
    return counts


def build_callback_delivery_sensor(interval_s: int) -> SensorDefinition:
    @sensor(
        name="callback_delivery_sensor",
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Deliver queued completion callbacks (signed POSTs), retrying with backoff.",
    )
    def callback_delivery_sensor(
        context: SensorEvaluationContext, database: DatabaseResource, callbacks: CallbackResource
    ) -> SkipReason:
        counts = deliver_due(database.store, callbacks, context.log)
        text = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing due"
        return SkipReason(f"callbacks: {text}")

    return callback_delivery_sensor
