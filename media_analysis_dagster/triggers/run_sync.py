"""How the end of a Dagster run is reflected in its request row, when the ops could not do it.

The ops mark a row ``failed`` themselves when a step raises (``ops/hooks.py``), with the most
precise message. What they cannot see is a run that dies outside a step: a launch failure, a
crashed or restarted run worker, a run terminated from the UI or by ``cancellation_sensor``.
The run-status sensors call into this module for those, and it only ever changes a row that is
still ``pending``/``processing`` (``Store.end_request``), so a row the ops already ended keeps
its message. It also leaves the row alone when the run is not the row's current owner:

- the run is going to be retried (``dagster/will_retry`` = ``true``): the retry carries on;
- a newer run exists for the request (a re-execution or a later episode owns the row now);
- the run failed in ``register_request`` because the row was not claimable (another run had
  it, or it was cancelled): that run never owned the row.

A row cancelled by a plain ``UPDATE`` gets its ``completed_at`` and reason filled in on the way
(``Store.note_cancelled``). Every handled run is then tagged ``media_analysis/row_synced``, which
``pending_scan.py`` reads.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRun

from ..dagster_internals.run_worker_crash import crash_explanation
from ..pipeline.request_runs import runs_by_request, will_retry
from ..tags import TAG_REQUEST_ID, TAG_ROW_SYNCED
from .run_liveness import GONE_PREFIX as WORKER_GONE_PREFIX

NOT_OWNER_ERRORS = {"RequestNotPendingError", "RequestNotFoundError", "RequestStateError"}
_QUALIFIED = re.compile(r"^\w+(\.\w+)+: ")  # "package.module.SomeError: "

HINT_REPEND = "Set the row back to 'pending' to process it again."
HINTS = {
    "UNEXPECTED_TERMINATION": "The run worker stopped unexpectedly (crash, out of memory).",
    "RUN_WORKER_RESTART": "The run worker was restarted while the run was in progress.",
    "START_TIMEOUT": "The run did not start in time; check the code server and the run launcher.",
    "JOB_INITIALIZATION_FAILURE": "The run could not start; check resources and run config.",
    "RUN_EXCEPTION": "Dagster failed while running the job; see the run's logs in the Dagster UI.",
}

if TYPE_CHECKING:
    from ..db.store import Store


def request_id_of(run: DagsterRun) -> str | None:
    """The run's request id: its tag, else ``request_id`` in its run config (a GraphQL launch
    whose run failed before ``register_request`` tagged it)."""
    value = run.tags.get(TAG_REQUEST_ID)
    if not value:
        ops = run.run_config.get("ops") if isinstance(run.run_config, dict) else None
        config = ((ops or {}).get("register_request") or {}).get("config") or {}
        value = config.get("request_id") if isinstance(config, dict) else None
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def _root_error(error: Any) -> Any:
    """The user's exception inside Dagster's wrappers (``DagsterExecutionStepExecutionError``,
    ``Failure``)."""
    # ``Failure`` is how ops raise their own errors readably (``pipeline/steps.readable_failures``);
    # the original error is its cause.
    while (
        error is not None
        and (error.cls_name.startswith("Dagster") or error.cls_name == "Failure")
        and error.cause is not None
    ):
        error = error.cause
    return error


def _sentence(text: str, limit: int = 300) -> str:
    text = " ".join(_QUALIFIED.sub("", text.strip()).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _step_failures(instance: DagsterInstance, run_id: str) -> Sequence[DagsterEvent]:
    records = instance.get_records_for_run(
        run_id=run_id, of_type=DagsterEventType.STEP_FAILURE, limit=1
    ).records
    return [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]


def describe_failure(
    instance: DagsterInstance, run: DagsterRun, event: DagsterEvent
) -> tuple[str, dict[str, Any]]:
    """``error_message`` and ``error_details`` for a failed run, from its first failure."""
    data = event.event_specific_data
    step_event = getattr(data, "first_step_failure_event", None)
    if step_event is None and getattr(data, "failure_reason", None) is None:
        step_event = next(iter(_step_failures(instance, run.run_id)), None)
    step = step_event.step_key if step_event else None
    source = step_event.event_specific_data if step_event else data
    error = _root_error(getattr(source, "error", None))
    reason = getattr(getattr(data, "failure_reason", None), "value", None)
    crash = None if error is not None or reason else crash_explanation(instance, run.run_id)
    if error is not None:
        message, error_type = _sentence(error.message), error.cls_name
    elif crash is not None:
        first = crash.split(". ", 1)[0]  # the rest is Dagster's generic advice on memory
        message, error_type, reason = _sentence(first), "RunWorkerCrash", "UNEXPECTED_TERMINATION"
    else:
        message, error_type = _sentence(event.message or "no reason was recorded"), reason
        if reason is None and message.startswith(WORKER_GONE_PREFIX):  # run_liveness.py
            error_type, reason = "RunWorkerGone", "UNEXPECTED_TERMINATION"
    hints = [h for h in (HINTS.get(reason or ""), HINT_REPEND) if h]
    sentence = f"The Dagster run {run.run_id} failed" + (f" in step {step}" if step else "")
    details = {
        "run_id": run.run_id,
        "step": step,
        "error_type": error_type or "RunFailure",
        "message": message,
        "hints": hints,
        "failure_reason": reason,
    }
    return f"{sentence}: {message.rstrip('.')}.", details


def describe_cancellation(run: DagsterRun, message: str = "") -> tuple[str, dict[str, Any]]:
    """``error_message`` and ``error_details`` for a cancelled run (or a row cancelled by hand)."""
    message = message or f"The Dagster run {run.run_id} was cancelled."
    details = {
        "run_id": run.run_id,
        "step": None,
        "error_type": "RunCanceled",
        "message": message,
        "hints": [HINT_REPEND],
    }
    return message, details


def _by_hand(run: DagsterRun) -> str:
    return f"The request was cancelled; the Dagster run {run.run_id} did not complete it."


def newer_run_exists(instance: DagsterInstance, run: DagsterRun, request_id: str) -> bool:
    records = runs_by_request(instance, [request_id], run.job_name)[request_id]
    ids = [r.dagster_run.run_id for r in records]  # newest first
    return run.run_id in ids and ids[0] != run.run_id


def _update_row(
    store: Store,
    instance: DagsterInstance,
    run: DagsterRun,
    request_id: str,
    status: str,
    message: str,
    details: dict[str, Any],
    on_end: Callable[[str], object],
) -> str:
    if details.get("step") == "register_request" and details.get("error_type") in NOT_OWNER_ERRORS:
        if store.note_cancelled(request_id, *describe_cancellation(run, _by_hand(run))):
            on_end(request_id)
        return f"request {request_id} left alone: the run never claimed it"
    if newer_run_exists(instance, run, request_id):
        return f"request {request_id} left alone: a newer run owns it"
    if store.end_request(request_id, status, message, details):
        on_end(request_id)
        return f"request {request_id} marked {status}: {message}"
    if store.note_cancelled(request_id, *describe_cancellation(run, _by_hand(run))):
        on_end(request_id)
        return f"request {request_id} was cancelled by hand; completed_at and reason filled in"
    return f"request {request_id} left alone: it had already ended ({store.get_status(request_id)})"


def _nothing(request_id: str) -> None:
    return None


def sync_ended_run(
    store: Store,
    instance: DagsterInstance,
    run: DagsterRun,
    status: str,
    message: str,
    details: dict[str, Any],
    on_end: Callable[[str], object] | None = None,
) -> str:
    """Reflect a failed (``status='failed'``) or cancelled run in its row; says what it did.

    Afterwards the run is tagged ``media_analysis/row_synced``: from then on, the row being
    ``pending`` can only mean it was set back to pending, which is what the launching sensor
    waits for before it starts the next episode. The tag is written after the row, never before.
    """
    request_id = request_id_of(run)
    if request_id is None:
        return "no request id: the run ended before it had a row"
    fresh = instance.get_run_by_id(run.run_id) or run
    if status == "failed" and will_retry(fresh):
        return f"request {request_id} left alone: run will be retried"
    outcome = _update_row(
        store, instance, fresh, request_id, status, message, details, on_end or _nothing
    )
    instance.add_run_tags(run.run_id, {TAG_ROW_SYNCED: "true"})
    return outcome
