"""Which pending rows ``pending_requests_sensor`` launches, and under which run key.

A row is launched once per *pending episode* (each time it becomes ``pending``). Dagster never
reuses a sensor's ``run_key``, failed runs included, so the key names the episode:
``<request_id>:<n>``. There is no cursor: every tick reads the pending rows oldest first, so a row
committed late with an older ``created_at``, or left over by a tick that failed half-way, is
simply seen by the next tick. What keeps a row from being launched twice is Dagster's own run
history, read for a whole page of rows in one query (runs tagged ``media_analysis/request_id``,
whichever way they were launched):

- no run yet → episode 0;
- a run not finished (not started, queued, starting, started, canceling), or a failed run whose
  automatic retry is still to come → in flight, skip;
- the latest run finished and its end is on record — it succeeded, the run-status sensors have
  handled it (tag ``media_analysis/row_synced``), or the row ended after the run was created
  (``completed_at`` is later; the ops end rows themselves) → the row was set back to
  ``pending``: next episode, the first unused ``<id>:<n>`` from ``n`` = number of runs;
- otherwise that run failed or was cancelled before it claimed the row (launch failure, crash at
  start-up) and the run-status sensors are about to mark the row; launching again would turn
  every launch failure into a loop, so wait.

Between a ``RunRequest`` and the daemon creating its run, the next tick computes the same key and
Dagster drops the duplicate (it checks the sensor's earlier run keys before creating a run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunRecord

from ..pipeline.request_runs import runs_by_request, will_retry
from ..tags import RUN_KEY_TAG, TAG_ROW_SYNCED


@dataclass(frozen=True)
class Launch:
    request_id: str
    media_type: str
    episode: int

    @property
    def run_key(self) -> str:
        return f"{self.request_id}:{self.episode}"


@dataclass
class Scan:
    """What one tick found; the counts go into the tick's log and skip reason."""

    launches: list[Launch] = field(default_factory=list)
    scanned: int = 0
    in_flight: int = 0
    waiting: list[str] = field(default_factory=list)
    stopped_by: str = "end of pending rows"


def episode_of(row: Mapping[str, Any], records: Sequence[RunRecord]) -> int | str:
    """The episode to launch for a pending row, else why not: ``"in flight"`` or ``"waiting"``."""
    if not records:
        return 0
    if any(not r.dagster_run.is_finished for r in records):
        return "in flight"
    latest = max(records, key=lambda r: (r.create_timestamp, r.storage_id))
    if will_retry(latest.dagster_run):
        return "in flight"
    run = latest.dagster_run
    ended: datetime | None = row["completed_at"]
    recorded = run.status == DagsterRunStatus.SUCCESS or run.tags.get(TAG_ROW_SYNCED) == "true"
    if not recorded and (ended is None or ended < latest.create_timestamp):
        return "waiting"
    used = {r.dagster_run.tags.get(RUN_KEY_TAG) for r in records}
    n = len(records)
    while f"{row['request_id']}:{n}" in used:
        n += 1
    return n


def scan_pending(
    *,
    page: Callable[[int, int], list[dict[str, Any]]],
    statuses: Callable[[list[str]], dict[str, str]],
    instance: DagsterInstance,
    job_name: str,
    batch: int,
    page_size: int,
    max_scanned: int,
    time_budget_s: float,
) -> Scan:
    """Walk pending rows oldest first until ``batch`` launches, the scan cap or the time budget.

    ``page(limit, offset)`` reads pending rows; ``statuses(ids)`` re-reads rows just before they
    are launched, so a row cancelled meanwhile is dropped. Rows that runs claim while the tick
    pages shift later rows to smaller offsets, so each page starts a quarter page early (rows
    already seen are ignored); a row skipped anyway is seen by the next tick.
    """
    scan = Scan()
    seen: set[str] = set()
    deadline = time.monotonic() + time_budget_s
    offset = 0
    while True:
        page_rows = page(page_size, offset)
        offset += max(len(page_rows) - page_size // 4, 1)
        rows = [r for r in page_rows if r["request_id"] not in seen]
        seen.update(r["request_id"] for r in rows)
        scan.scanned += len(rows)
        runs = runs_by_request(instance, [r["request_id"] for r in rows], job_name)
        candidates: list[Launch] = []
        for row in rows:
            verdict = episode_of(row, runs[row["request_id"]])
            if isinstance(verdict, int):
                candidates.append(Launch(row["request_id"], row["media_type"], verdict))
            elif verdict == "in flight":
                scan.in_flight += 1
            else:
                scan.waiting.append(row["request_id"])
        current = statuses([c.request_id for c in candidates]) if candidates else {}
        for launch in candidates:
            if current.get(launch.request_id) == "pending":
                scan.launches.append(launch)
                if len(scan.launches) >= batch:
                    scan.stopped_by = "batch size"
                    return scan
        if len(page_rows) < page_size:
            return scan
        if scan.scanned >= max_scanned:
            scan.stopped_by = "scan cap"
            return scan
        if time.monotonic() > deadline:
            scan.stopped_by = "time budget"
            return scan
