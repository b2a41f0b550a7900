"""The one place where jobs, sensors, schedules and resources are wired."""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar

from .assets import TABLE_SPECS
from .jobs import media_analysis_job
from .resources import DatabaseResource, FetcherResource, FileStorageResource, ProvidersResource

KEY_VARIABLES = {
    "openai_api_key": "OPENAI_API_KEY",
    "deepgram_api_key": "DEEPGRAM_API_KEY",
    "groq_api_key": "GROQ_API_KEY",
    "minimax_api_key": "MINIMAX_API_KEY",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "gemini_api_key": "GEMINI_API_KEY",
}


def providers_resource() -> ProvidersResource:
    """Keys as ``EnvVar`` (resolved in the run worker, never stored); unset keys stay off."""
    keys = {field: EnvVar(var) for field, var in KEY_VARIABLES.items() if os.environ.get(var)}
    return ProvidersResource(**keys)


def resources() -> dict[str, object]:
    return {
        "database": DatabaseResource(),
        "files": FileStorageResource(),
        "fetcher": FetcherResource(),
        "providers": providers_resource(),
    }


defs = Definitions(
    assets=TABLE_SPECS,
    jobs=[media_analysis_job],
    resources=resources(),
)
