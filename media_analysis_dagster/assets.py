"""The four tables as assets, so the catalog shows what each run wrote and how tables relate.

Ops log an ``AssetMaterialization`` (with the request id) for every write; these specs give
those events their descriptions and lineage. Nothing here materializes a table by itself.
"""

from __future__ import annotations

from dagster import AssetSpec

GROUP = "media_analysis_tables"

TABLE_SPECS = [
    AssetSpec(
        "media_analysis_requests",
        description="One row per request: status, timing, provider chain, costs, errors.",
        group_name=GROUP,
        kinds={"postgres"},
    ),
    AssetSpec(
        "media_files",
        description="Originals, frames, contact sheets, audio and document files on disk.",
        deps=["media_analysis_requests"],
        group_name=GROUP,
        kinds={"postgres"},
    ),
    AssetSpec(
        "contact_sheets",
        description="Grid, counts, interval and sizes of each contact sheet.",
        deps=["media_analysis_requests", "media_files"],
        group_name=GROUP,
        kinds={"postgres"},
    ),
    AssetSpec(
        "media_analysis_results",
        description="Results per analysis: internal facts and AI provider output.",
        deps=["media_analysis_requests", "media_files"],
        group_name=GROUP,
        kinds={"postgres"},
    ),
]
