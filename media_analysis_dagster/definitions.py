"""The one place where jobs, sensors, schedules and resources are wired."""

from __future__ import annotations

import os
from typing import Any

from dagster import Definitions, EnvVar

from .assets import TABLE_SPECS
from .jobs import media_analysis_job
from .resources import DatabaseResource, FetcherResource, FileStorageResource, ProvidersResource
from .retention_job import retention_cleanup_job
from .schedules import retention_cleanup_schedule
from .sensors import SENSORS

KEY_VARIABLES = {
    "openai_api_key": "OPENAI_API_KEY",
    "deepgram_api_key": "DEEPGRAM_API_KEY",
    "groq_api_key": "GROQ_API_KEY",
    "minimax_api_key": "MINIMAX_API_KEY",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "gemini_api_key": "GEMINI_API_KEY",
}


def providers_resource() -> ProvidersResource:
    """Keys as ``EnvVar`` (resolved in the run worker, never stored in run config); a provider
    whose key is unset when the code location loads stays off."""
    keys: dict[str, Any] = {
        field: EnvVar(var) for field, var in KEY_VARIABLES.items() if os.environ.get(var)
    }
    env = os.environ
    return ProvidersResource(
        **keys,
        budget_usd=float(env["MEDIA_ANALYSIS_BUDGET_USD"])
        if env.get("MEDIA_ANALYSIS_BUDGET_USD")
        else None,
        max_retries=int(env.get("MEDIA_ANALYSIS_PROVIDER_RETRIES") or 3),
        retry_base_delay_s=float(env.get("MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S") or 0.5),
        timeout_s=float(env.get("MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S") or 120),
    )


def build_definitions() -> Definitions:
    """Everything the code location serves (a function so tests can load it afresh)."""
    return Definitions(
        assets=TABLE_SPECS,
        jobs=[media_analysis_job, retention_cleanup_job],
        sensors=SENSORS,
        schedules=[retention_cleanup_schedule],
        resources={
            "database": DatabaseResource(),
            "files": FileStorageResource(),
            "fetcher": FetcherResource(),
            "providers": providers_resource(),
        },
    )


defs = build_definitions()
