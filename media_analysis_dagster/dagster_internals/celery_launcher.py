"""Dagster's ``CeleryRunLauncher`` (dagster-celery 0.29.27), with two changes that runs on other
hosts need (``deploy/celery/README.md``).

**Termination ends the run as cancelled.** Dagster's default launcher records ``CANCELING``
before it signals the run worker; dagster-celery's only revokes the Celery task. The run worker
then sees an interrupt without a cancellation request, ends the run ``FAILURE`` ("interrupted
unexpectedly"), and ``run_retries`` would run a cancelled request again. Here ``terminate``
records ``CANCELING`` first, then revokes the task with SIGTERM: inside a run Dagster's interrupt
handler catches that signal, the executor stops starting steps, lets running ones finish within
its grace period, and the run ends ``CANCELED``.

**A run's worker is asked for, not looked up.** dagster-celery's health check reads the task's
state from the result backend. A worker host that dies leaves its task ``STARTED`` there for
ever, so run monitoring never notices; and a backend that lost its keys (a Redis restart)
answers ``PENDING``, which run monitoring takes for a dead worker, failing a healthy run. Here
every check asks the workers over the broker which tasks they run (``inspect().active()``, one
broadcast per few seconds, shared by all runs being checked):

- a worker runs the task: healthy (whatever the backend says);
- the broker cannot be reached: healthy for now (nothing can be known; the run's own events
  still reach PostgreSQL), checked again on the next pass;
- the backend says ``SUCCESS``: done; ``FAILURE`` (the worker's pool process died, e.g. an
  OOM kill): dead at once;
- otherwise (its worker does not answer in time, answers without it, or the backend forgot the
  task) the run is dead once no worker has reported it for ``silence_grace_s``: a worker slow to
  answer one broadcast on a loaded host is not taken for a dead one.

A dead run is reported failed here, with one sentence in the form ``triggers/run_liveness.py``
uses ("The run worker (pid N on host H) is gone: …"), so its row says what happened
(``triggers/run_sync.py``). Run monitoring calls the check every
``run_monitoring.poll_interval_seconds``: a worker killed mid-run fails its runs within about
two intervals plus ``silence_grace_s``.

Such a run is not retried (it is tagged ``dagster/max_retries=0`` first): Dagster's run retry
re-executes from the failed step and loads the earlier steps' outputs through the default IO
manager, i.e. from ``$DAGSTER_HOME/storage`` on the dead worker's host, which no other host has.
The row ends ``failed`` and setting it back to ``pending`` runs the request again from the start
on any worker. Runs that never started (a launch the broker lost) are still retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dagster import DagsterRun, DagsterRunStatus, Field
from dagster_celery.launcher import CeleryRunLauncher as _DagsterCeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from ..tags import TAG_RUN_WORKER
from .private_api import CheckRunHealthResult, ConfigurableClassData, WorkerStatus

log = logging.getLogger(__name__)
NO_RETRY = {"dagster/max_retries": "0"}  # Dagster's run tag, read by its run retries


@dataclass(frozen=True)
class WorkerSnapshot:
    """What the workers answered to one broadcast: task id → worker node, and who answered."""

    taken_at: float
    tasks: Mapping[str, str]
    nodes: frozenset[str]


def _healthy(message: str) -> Any:
    return CheckRunHealthResult(WorkerStatus.RUNNING, message)


class CeleryRunLauncher(_DagsterCeleryRunLauncher):
    """``dagster_celery.CeleryRunLauncher`` with a cancelling ``terminate`` and a health check
    that asks the workers (module docstring)."""

    def __init__(
        self,
        inspect_timeout_s: float = 5.0,
        silence_grace_s: float = 20.0,
        snapshot_max_age_s: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.inspect_timeout_s = inspect_timeout_s
        self.silence_grace_s = silence_grace_s
        self.snapshot_max_age_s = snapshot_max_age_s
        self._snapshot: WorkerSnapshot | None = None
        self._silent_since: dict[str, float] = {}

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **_DagsterCeleryRunLauncher.config_type(),  # type: ignore[dict-item]
            "inspect_timeout_s": Field(
                float, default_value=5.0, description="How long a check waits for workers."
            ),
            "silence_grace_s": Field(
                float,
                default_value=20.0,
                description="How long no worker may report a started run before it is failed.",
            ),
            "snapshot_max_age_s": Field(
                float, default_value=5.0, description="How long one broadcast's answer is reused."
            ),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> CeleryRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    # -- termination -----------------------------------------------------------------------
    def terminate(self, run_id: str) -> bool:
        """``CANCELING`` first (so the interrupted run ends ``CANCELED``), then SIGTERM to the
        pool process running the task, wherever it is."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if not task_id:
            return False
        self._instance.report_run_canceling(run)
        self.celery.control.revoke(task_id, terminate=True, signal="SIGTERM")
        return True

    # -- health ------------------------------------------------------------------------------
    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> Any:
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if not task_id:
            return _healthy("the run has no Celery task yet")
        snapshot = self._workers(self.snapshot_max_age_s)
        if snapshot is not None and task_id not in snapshot.tasks:
            snapshot = self._workers(0.0)  # the cached answer may predate the run's start
        if snapshot is None:
            return _healthy("the broker cannot be reached; the run's worker is checked later")
        if task_id in snapshot.tasks:
            self._silent_since.pop(run.run_id, None)
            return _healthy(f"Celery worker {snapshot.tasks[task_id]} runs it")
        state, info = self._task_state(task_id)
        if state == "SUCCESS":
            self._silent_since.pop(run.run_id, None)
            return CheckRunHealthResult(WorkerStatus.SUCCESS, "its Celery task finished")
        if state == "FAILURE":  # the worker saw its pool process die (an OOM kill …)
            return self._report_dead(run, f"its Celery task failed ({_one_line(info)})")
        node = info.get("hostname") if state == "STARTED" and isinstance(info, dict) else None
        now = time.monotonic()
        first = self._silent_since.setdefault(run.run_id, now)
        self._forget_old(now)
        if now - first < self.silence_grace_s:
            return _healthy("no Celery worker reports the run's task; checking again")
        if node and node in snapshot.nodes:
            who = f"its Celery worker {node} answers but no longer runs it"
        else:
            who = f"its Celery worker {node} does not answer" if node else "no worker runs it"
        return self._report_dead(run, f"{who} ({now - first:.0f} s without a report)")

    def _workers(self, max_age_s: float) -> WorkerSnapshot | None:
        """The workers' running tasks (cached for ``max_age_s``), None without a broker."""
        cached = self._snapshot
        if cached is not None and time.time() - cached.taken_at <= max_age_s:
            return cached
        taken_at = time.time()
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=self.inspect_timeout_s)
                inspector = self.celery.control.inspect(
                    timeout=self.inspect_timeout_s, connection=connection
                )
                replies = inspector.active() or {}
        except Exception as exc:  # kombu's OperationalError, redis' ConnectionError, OSError …
            log.warning("cannot ask the Celery workers: %s: %s", type(exc).__name__, exc)
            return None
        tasks = {
            str(task["id"]): node
            for node, running in replies.items()
            for task in (running or [])
            if isinstance(task, dict) and task.get("id")
        }
        self._snapshot = WorkerSnapshot(taken_at, tasks, frozenset(replies))
        return self._snapshot

    def _task_state(self, task_id: str) -> tuple[str | None, Any]:
        """The result backend's state and info of the task; (None, None) if it cannot answer."""
        try:
            result = self.celery.AsyncResult(task_id)
            return str(result.state), result.info
        except Exception as exc:
            log.warning("cannot read Celery task %s: %s: %s", task_id, type(exc).__name__, exc)
            return None, None

    def _report_dead(self, run: DagsterRun, reason: str) -> Any:
        """Fail the run with one sentence, unless it ended meanwhile (its worker reports its own
        end to PostgreSQL before the task ends)."""
        self._silent_since.pop(run.run_id, None)
        fresh = self._instance.get_run_by_id(run.run_id)
        if fresh is None or fresh.status != DagsterRunStatus.STARTED:
            return _healthy("the run ended meanwhile")
        parts = (fresh.tags.get(TAG_RUN_WORKER) or "").rsplit(":", 2)
        where = f"(pid {parts[1]} on host {parts[0]})" if len(parts) == 3 else "of this run"
        message = f"The run worker {where} is gone: {reason}."
        self._instance.add_run_tags(fresh.run_id, NO_RETRY)  # the outputs died with the worker
        self._instance.report_run_failed(fresh, message)
        return CheckRunHealthResult(WorkerStatus.FAILED, message)

    def _forget_old(self, now: float) -> None:
        """Runs that ended between checks leave their entry; drop the old ones."""
        horizon = now - 20 * max(self.silence_grace_s, 1.0)
        for run_id in [r for r, t in self._silent_since.items() if t < horizon]:
            del self._silent_since[run_id]


def _one_line(info: Any) -> str:
    text = " ".join(str(info).split())
    return text if len(text) <= 160 else text[:157] + "..."
