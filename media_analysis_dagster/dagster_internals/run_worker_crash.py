"""Why a run worker died, read from the text of Dagster's engine event.

When a run worker is killed (SIGKILL, out of memory), Dagster records no failure reason on the
run; the code server only logs an engine event whose *message text* starts with
``Run execution process for … was terminated by signal …``. Parsing Dagster's wording is as
private as importing ``dagster._core``, so it lives here with the other pinned-version code.
"""

from __future__ import annotations

import re

from dagster import DagsterEventType, DagsterInstance

_CRASH_PREFIX = "Run execution process for"


def crash_explanation(instance: DagsterInstance, run_id: str) -> str | None:
    """The code server's note on a run worker that died (``… was terminated by signal 9``).

    Dagster records no failure reason for a killed worker, only this engine event right before
    the run failure; without it the row would say "marked as failed from outside the execution
    context", which tells an operator nothing.
    """
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=False, limit=10
    ).records
    for record in records:
        message = record.event_log_entry.user_message or ""
        if record.event_log_entry.dagster_event is not None:
            message = record.event_log_entry.dagster_event.message or message
        message = re.sub(r"^\[[^\]]*\]\s*", "", message)  # "[DagsterApiServer] ..."
        if message.startswith(_CRASH_PREFIX):
            return message
    return None
