"""A module-level handle on the wired job, so Dagster can rebuild it by name; the definitions
are built afresh so each test's environment (provider keys) applies."""

from __future__ import annotations

from dagster import JobDefinition


def wired_job(environment: str = "") -> JobDefinition:
    """``environment`` is only a key: Dagster caches a rebuilt job by its module, function and
    arguments, so passing the test's environment makes a new environment load afresh."""
    from media_analysis_dagster.definitions import build_definitions

    return build_definitions().resolve_job_def("media_analysis_job")
