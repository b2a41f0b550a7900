"""``retention_cleanup_schedule``: the daily ``retention_cleanup_job`` (DESIGN.md §1).

The cron and timezone are read when the code location loads (a schedule's cron is part of its
definition); the retention days are read at every tick, so changing them only needs the code
server's environment, not a code change. The schedule starts RUNNING: an operator who deploys
it expects the cleanup to happen without a click in the UI.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dagster import (
    DefaultScheduleStatus,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    schedule,
)

from .ops.config import TAG_SOURCE
from .ops.retention import RetentionConfig
from .retention_job import retention_cleanup_job

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "UTC"
DAYS_VARIABLES = {
    "completed_days": "MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS",
    "failed_days": "MEDIA_ANALYSIS_RETENTION_FAILED_DAYS",
    "cancelled_days": "MEDIA_ANALYSIS_RETENTION_CANCELLED_DAYS",
}
KEEP_FOREVER = {"off", "never", "none"}


def _days(env: Mapping[str, str], name: str) -> int | None:
    raw = env[name].strip()
    if raw.lower() in KEEP_FOREVER:
        return None
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number of days (or 'off').") from None
    if days < 1:
        raise ValueError(f"{name}={raw!r}: retention is at least 1 day (or 'off').")
    return days


def retention_run_config(env: Mapping[str, str] | None = None) -> RunConfig:
    """The scheduled run's config: ``RetentionConfig`` defaults, days overridden by the env."""
    env = os.environ if env is None else env
    config = RetentionConfig()
    days = {
        field: _days(env, name)
        for field, name in DAYS_VARIABLES.items()
        if env.get(name, "").strip()
    }
    return RunConfig(ops={"plan_retention": config.model_copy(update=days)})


def build_retention_schedule(env: Mapping[str, str] | None = None) -> ScheduleDefinition:
    """The schedule with cron and timezone from the env (``env`` is for tests)."""
    source = os.environ if env is None else env
    cron = source.get("MEDIA_ANALYSIS_RETENTION_CRON", "").strip() or DEFAULT_CRON
    timezone = source.get("MEDIA_ANALYSIS_RETENTION_TIMEZONE", "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"MEDIA_ANALYSIS_RETENTION_TIMEZONE={timezone!r} is not an IANA timezone."
        ) from None

    @schedule(
        name="retention_cleanup_schedule",
        job=retention_cleanup_job,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.RUNNING,
        description="Daily retention cleanup (MEDIA_ANALYSIS_RETENTION_* variables).",
    )
    def retention_cleanup_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_config=retention_run_config(env), tags={TAG_SOURCE: "schedule"})

    return retention_cleanup_schedule


retention_cleanup_schedule = build_retention_schedule()
