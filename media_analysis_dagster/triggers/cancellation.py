"""Stop the Dagster runs of requests that were cancelled in the table.

Nothing records *when* a row became ``cancelled``: ``Store.end_request(…, "cancelled", …)`` sets
``completed_at``, but an operator's (or n8n's) plain ``UPDATE … SET status='cancelled'`` does
not. So the search starts from Dagster's side instead of the table's: the runs of the job that
can still be stopped (queued or started) are few — bounded by the run queue and the concurrency
limit, not by the table's history — and one ``IN`` query per page of them asks the table which of
their requests are cancelled. No cursor is needed, nothing is missed however the row was
cancelled, and a row that was cancelled while pending is simply never launched (the launching
sensor reads pending rows only).

A queued run is cancelled in the queue; a started run is terminated through the run launcher.
Both go through ``instance.run_coordinator.cancel_run``, the call the Dagster UI's "Terminate"
makes. Runs still being created or starting are left for the next tick; if one starts meanwhile,
``register_request`` refuses the cancelled row and ``complete_request`` refuses to complete it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from .run_sync import describe_cancellation, request_id_of

STOPPABLE = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTED]

if TYPE_CHECKING:
    from ..db.store import Store


def _cancel(instance: DagsterInstance, run: DagsterRun, log: logging.Logger) -> bool:
    try:
        return bool(instance.run_coordinator.cancel_run(run.run_id))
    except Exception as exc:  # one run that cannot be stopped must not stop the others
        log.warning(f"could not cancel run {run.run_id}: {type(exc).__name__}: {exc}")
        return False


def _by_request(runs: Sequence[DagsterRun]) -> dict[str, list[DagsterRun]]:
    out: dict[str, list[DagsterRun]] = {}
    for run in runs:
        rid = request_id_of(run)
        if rid:
            out.setdefault(rid, []).append(run)
    return out


def cancel_runs_of_cancelled_rows(
    instance: DagsterInstance,
    store: Store,
    job_name: str,
    log: logging.Logger,
    *,
    page_size: int = 500,
    max_runs: int = 5000,
    on_end: Callable[[str, DagsterRun], object] | None = None,
) -> list[str]:
    """Cancel every queued/started run whose request is ``cancelled``; returns their ids."""
    stopped: list[str] = []
    cursor: str | None = None
    seen = 0
    while seen < max_runs:
        runs = instance.get_runs(
            filters=RunsFilter(job_name=job_name, statuses=STOPPABLE),
            cursor=cursor,
            limit=page_size,
        )
        if not runs:
            break
        cursor, seen = runs[-1].run_id, seen + len(runs)
        by_request = _by_request(runs)
        statuses = store.statuses(by_request)
        for rid, runs_of_row in by_request.items():
            if statuses.get(rid) != "cancelled":
                continue
            for run in runs_of_row:
                if not _cancel(instance, run, log):
                    continue
                stopped.append(run.run_id)
                log.info(f"request {rid} is cancelled: cancelled its run {run.run_id}")
                message = f"The request was cancelled, so the Dagster run {run.run_id} was stopped."
                if store.note_cancelled(rid, *describe_cancellation(run, message)) and on_end:
                    on_end(rid, run)
        if len(runs) < page_size:
            break
    return stopped
