"""``retention_cleanup_schedule``: the daily ``retention_cleanup_job`` (DESIGN.md §1).

The cron and timezone are read when the code location loads (a schedule's cron is part of its
definition); the retention days are read at every tick, so changing them only needs the code
server's environment, not a code change. The schedule starts RUNNING: an operator who deploys
it expects the cleanup to happen without a click in the UI.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import (
    DefaultScheduleStatus,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from .. import settings
from ..jobs.retention import retention_cleanup_job
from ..ops.config import TAG_SOURCE
from ..ops.retention import RetentionConfig


def retention_run_config(env: Mapping[str, str] | None = None) -> RunConfig:
    """The scheduled run's config: ``RetentionConfig`` defaults, days overridden by the env."""
    days = settings.retention_days(env)
    return RunConfig(ops={"plan_retention": RetentionConfig().model_copy(update=days)})


def build_retention_schedule(env: Mapping[str, str] | None = None) -> ScheduleDefinition:
    """The schedule with cron and timezone from the env (``env`` is for tests)."""
    timing = settings.RetentionSchedule.from_env(env)

    @schedule(
        name="retention_cleanup_schedule",
        job=retention_cleanup_job,
        cron_schedule=timing.cron,
        execution_timezone=timing.timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Daily retention cleanup (MEDIA_ANALYSIS_RETENTION_* variables).",
    )
    def retention_cleanup_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_config=retention_run_config(env), tags={TAG_SOURCE: "schedule"})

    return retention_cleanup_schedule


retention_cleanup_schedule = build_retention_schedule()
