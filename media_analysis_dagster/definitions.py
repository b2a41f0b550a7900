"""The one place where jobs, sensors, schedules and resources are wired."""

from __future__ import annotations

from dagster import Definitions, EnvVar

from . import settings
from .assets import TABLE_SPECS
from .jobs import media_analysis_job, retention_cleanup_job
from .providers.specs import ALL_SPECS
from .resources import (
    CallbackResource,
    DatabaseResource,
    FetcherResource,
    FileStorageResource,
    ProvidersResource,
)
from .triggers.schedules import retention_cleanup_schedule
from .triggers.sensors import SENSORS


def providers_resource() -> ProvidersResource:
    """Keys as ``EnvVar`` (resolved in the run worker, never stored in run config); a provider
    whose key is unset when the code location loads stays off."""
    tuning = settings.ProviderTuning.from_env()
    keys = {
        f"{name}_api_key": EnvVar(ALL_SPECS[name].key_env)
        for name in settings.providers_with_keys()
    }
    return ProvidersResource(
        **keys,  # type: ignore[arg-type]
        budget_usd=tuning.budget_usd,
        cache_max_age_s=tuning.cache_max_age_s,
        max_retries=tuning.max_retries,
        retry_base_delay_s=tuning.retry_base_delay_s,
        timeout_s=tuning.timeout_s,
    )


def callbacks_resource() -> CallbackResource:
    """The signing secret as an ``EnvVar`` (never run config); unset = unsigned callbacks."""
    secret = EnvVar("MEDIA_ANALYSIS_CALLBACK_SECRET") if settings.callback_secret_set() else None
    return CallbackResource(secret=secret)  # type: ignore[arg-type]


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
            "callbacks": callbacks_resource(),
        },
    )


defs = build_definitions()
