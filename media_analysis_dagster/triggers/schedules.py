"""``retention_cleanup_schedule``: the daily ``retention_cleanup_job``.

Cron, timezone and the retention days come from ``Settings`` when the code location loads
(``MEDIA_ANALYSIS_RETENTION_*``); reload the code location after changing them. The schedule
starts RUNNING: an operator who deploys it expects the cleanup to happen without a click in the
UI.
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

from ..jobs.retention import retention_cleanup_job
from ..ops.retention import RetentionConfig
from ..tags import TAG_SOURCE


def retention_run_config(days: Mapping[str, int | None]) -> RunConfig:
    """The scheduled run's config: ``RetentionConfig`` defaults, days overridden by settings."""
    return RunConfig(ops={"plan_retention": RetentionConfig().model_copy(update=dict(days))})


def build_retention_schedule(
    cron: str, timezone: str, days: Mapping[str, int | None]
) -> ScheduleDefinition:
    @schedule(
        name="retention_cleanup_schedule",
        job=retention_cleanup_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Daily retention cleanup (MEDIA_ANALYSIS_RETENTION_* variables).",
    )
    def retention_cleanup_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_config=retention_run_config(days), tags={TAG_SOURCE: "schedule"})

    return retention_cleanup_schedule
