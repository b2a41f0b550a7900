"""A module-level handle on the wired job, so ``reconstructable`` can rebuild it."""

from __future__ import annotations

from dagster import JobDefinition


def wired_job() -> JobDefinition:
    from media_analysis_dagster.definitions import defs

    return defs.resolve_job_def("media_analysis_job")
