"""A module-level handle on the wired job, so ``reconstructable`` can rebuild it; the
definitions are built afresh so each test's environment (provider keys) applies."""

from __future__ import annotations

from dagster import JobDefinition


def wired_job() -> JobDefinition:
    from media_analysis_dagster.definitions import build_definitions

    return build_definitions().resolve_job_def("media_analysis_job")
