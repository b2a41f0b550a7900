"""``retention_cleanup_schedule``: cron, timezone and typed run config from ``Settings``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import (
    DefaultScheduleStatus,
    RunConfig,
    RunRequest,
    ScheduleDefinition,
    build_schedule_context,
    validate_run_config,
)

from media_analysis_dagster.definitions import build_definitions
from media_analysis_dagster.jobs.retention import retention_cleanup_job
from media_analysis_dagster.ops.retention import RetentionConfig
from media_analysis_dagster.settings import load_settings
from media_analysis_dagster.tags import TAG_SOURCE
from media_analysis_dagster.triggers.schedules import build_retention_schedule


def schedule_from(env: dict[str, str]) -> ScheduleDefinition:
    r = load_settings(env).retention
    return build_retention_schedule(r.cron, r.timezone, r.days)


def evaluate(schedule_def: ScheduleDefinition, when: datetime | None = None) -> RunRequest:
    # No instance: a schedule needs none, and a test instance left behind as the current
    # defs-state storage breaks later Definitions loads in the same process.
    context = build_schedule_context(scheduled_execution_time=when)
    [request] = list(schedule_def.evaluate_tick(context).run_requests or [])
    return request


def test_defaults_daily_at_two_utc_and_running() -> None:
    schedule_def = schedule_from({})
    assert schedule_def.cron_schedule == "0 2 * * *"
    assert schedule_def.execution_timezone == "UTC"
    assert schedule_def.default_status == DefaultScheduleStatus.RUNNING
    assert schedule_def.job_name == "retention_cleanup_job"
    request = evaluate(schedule_def, datetime(2025, 1, 2, 2, 0, tzinfo=UTC))
    expected = RunConfig(ops={"plan_retention": RetentionConfig()}).to_config_dict()
    assert request.run_config == expected
    assert request.run_config["ops"]["plan_retention"]["config"]["completed_days"] == 30
    assert request.tags[TAG_SOURCE] == "schedule"
    validate_run_config(retention_cleanup_job, request.run_config)


def test_env_overrides_cron_timezone_and_days() -> None:
    env = {
        "MEDIA_ANALYSIS_RETENTION_CRON": "30 3 * * 0",
        "MEDIA_ANALYSIS_RETENTION_TIMEZONE": "Europe/Berlin",
        "MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS": "90",
        "MEDIA_ANALYSIS_RETENTION_FAILED_DAYS": "14",
        "MEDIA_ANALYSIS_RETENTION_CANCELLED_DAYS": "off",
    }
    schedule_def = schedule_from(env)
    assert schedule_def.cron_schedule == "30 3 * * 0"
    assert schedule_def.execution_timezone == "Europe/Berlin"
    config = evaluate(schedule_def).run_config["ops"]["plan_retention"]["config"]
    assert (config["completed_days"], config["failed_days"], config["cancelled_days"]) == (
        90,
        14,
        None,
    )
    validate_run_config(retention_cleanup_job, evaluate(schedule_def).run_config)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_ANALYSIS_RETENTION_TIMEZONE": "Mars/Olympus"}, "IANA timezone"),
        ({"MEDIA_ANALYSIS_RETENTION_FAILED_DAYS": "a week"}, "whole number of days"),
        ({"MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS": "0"}, "at least 1 day"),
        ({"MEDIA_ANALYSIS_RETENTION_CRON": "every night"}, "MEDIA_ANALYSIS_RETENTION_CRON"),
    ],
)
def test_bad_settings_say_which_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(env)


def test_project_schedule_uses_the_environment_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS", "45")
    schedule_def = build_definitions(load_settings()).resolve_schedule_def(
        "retention_cleanup_schedule"
    )
    config = evaluate(schedule_def).run_config["ops"]["plan_retention"]["config"]
    assert config["completed_days"] == 45
    validate_run_config(retention_cleanup_job, evaluate(schedule_def).run_config)
