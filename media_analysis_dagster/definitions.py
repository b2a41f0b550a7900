"""The one place where jobs, sensors, schedules and resources are wired."""

from __future__ import annotations

from dagster import Definitions

from .resources import DatabaseResource, FetcherResource, FileStorageResource

defs = Definitions(
    resources={
        "database": DatabaseResource(),
        "files": FileStorageResource(),
        "fetcher": FetcherResource(),
    },
)
