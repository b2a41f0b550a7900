"""Fail the runs whose run worker died with its code server, within minutes.

With Dagster's default run launcher a run worker is a child of the code server. When only the
worker dies, the code server notices (within 0.5 s) and fails the run. When the code server dies
too (SIGKILL of its process group, OOM kill of the container, a host restart), nobody is left to
notice: run monitoring cannot check the default launcher's workers, so the runs stay STARTED and
their rows ``processing`` until the daily retention job.

The executor tags every run with the process executing it
(``media_analysis/run_worker`` = ``<hostname>:<pid>:<start time>``,
``dagster_internals/executor.py``). Every ``MEDIA_ANALYSIS_LIVENESS_INTERVAL_S`` (30 s) this sensor
looks at the
STARTING/STARTED runs of ``media_analysis_job`` whose worker is on *this* host and reports those
whose process is gone — or whose pid now belongs to another process (different start time) —
as failed. ``failed_run_sync_sensor`` then fails the row (or, on a first attempt, ``run_retries``
relaunches it). Runs on other hosts (Kubernetes pods) are left alone: their launcher's health
check covers them. When the instance's run launcher has such a check (``K8sRunLauncher``, the
Celery launcher of ``deploy/celery``), run monitoring watches every run worker and this sensor
stands aside, even for a worker that shares this host's name.

A retry or re-execution inherits its parent's tags, so until its own executor starts it carries
the parent's (dead) worker: such a run is skipped while its tag equals its parent's.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from ..dagster_internals.executor import process_start_ticks
from ..jobs import media_analysis_job
from ..tags import PARENT_RUN_TAG, TAG_RUN_WORKER

ACTIVE = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
GONE_PREFIX = "The run worker (pid "


@dataclass(frozen=True)
class Worker:
    """Where a run executes, parsed from its ``media_analysis/run_worker`` tag."""

    host: str
    pid: int
    start_ticks: int

    @classmethod
    def parse(cls, value: str | None) -> Worker | None:
        """None for a missing or malformed tag (a run of an older version: left alone)."""
        parts = (value or "").rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
            return None
        return cls(parts[0], int(parts[1]), int(parts[2]))

    def is_gone(self) -> bool:
        """No process with this pid, or one that started at another time (the pid was reused)."""
        return process_start_ticks(self.pid) != self.start_ticks

    def gone_message(self) -> str:
        return (
            f"{GONE_PREFIX}{self.pid} on host {self.host}) is gone: the code server or the "
            "worker died."
        )


def _inherited(instance: DagsterInstance, run: DagsterRun) -> bool:
    """True while a retry/re-execution still carries its parent's worker tag."""
    parent_id = run.tags.get(PARENT_RUN_TAG)
    if not parent_id:
        return False
    parent = instance.get_run_by_id(parent_id)
    return parent is not None and parent.tags.get(TAG_RUN_WORKER) == run.tags.get(TAG_RUN_WORKER)


def dead_runs(
    instance: DagsterInstance, job_name: str, host: str
) -> list[tuple[DagsterRun, Worker]]:
    """Unfinished runs of ``job_name`` whose worker on ``host`` no longer exists."""
    found = []
    runs = instance.get_runs(filters=RunsFilter(job_name=job_name, statuses=ACTIVE))
    for run in runs:
        worker = Worker.parse(run.tags.get(TAG_RUN_WORKER))
        if worker is None or worker.host != host or worker.start_ticks == 0:
            continue
        if worker.is_gone() and not _inherited(instance, run):
            found.append((run, worker))
    return found


def fail_dead_runs(instance: DagsterInstance, job_name: str, host: str | None = None) -> list[str]:
    """Report the runs of dead workers on ``host`` (default: this one) as failed; their ids.

    The run is read again after the process check: a worker that exited normally wrote its
    success before exiting, so a run found finished by then is left as it is.
    """
    failed = []
    for run, worker in dead_runs(instance, job_name, host or socket.gethostname()):
        fresh = instance.get_run_by_id(run.run_id)
        if (
            fresh is None
            or fresh.is_finished
            or fresh.tags.get(TAG_RUN_WORKER) != (run.tags.get(TAG_RUN_WORKER))
        ):
            continue
        instance.report_run_failed(fresh, worker.gone_message())
        failed.append(run.run_id)
    return failed


def build_run_liveness_sensor(interval_s: int) -> SensorDefinition:
    """A dead worker's row ends ``failed`` within about ``interval_s`` plus the daemon's 5 s loop
    plus ``failed_run_sync_sensor``'s 30 s."""

    @sensor(
        name="run_liveness_sensor",
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Fail the started runs of media_analysis_job whose run worker on this host is "
        "gone (it died with its code server), so their requests end within minutes.",
    )
    def run_liveness_sensor(context: SensorEvaluationContext) -> SkipReason:
        """Evaluated in the code server's process, i.e. on the host its run workers run on."""
        if not Path("/proc/self/stat").exists():
            return SkipReason("no /proc on this host: run workers cannot be checked")
        launcher = context.instance.run_launcher
        if launcher.supports_check_run_worker_health:
            return SkipReason(f"run monitoring checks the run workers ({type(launcher).__name__})")
        failed = fail_dead_runs(context.instance, media_analysis_job.name)
        for run_id in failed:
            context.log.warning(f"run {run_id}: its run worker is gone; reported the run as failed")
        return SkipReason(f"{len(failed)} run(s) with a dead run worker reported as failed")

    return run_liveness_sensor
