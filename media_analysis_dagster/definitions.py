"""The one place where jobs, sensors, schedules and resources are wired.

``load_settings()`` reads the environment once, here, when the code location loads (a bad value
fails the load with one sentence naming the variable); every value then reaches the resources
and triggers as a field. Secrets go in as ``dagster.EnvVar`` (resolved where the resource runs,
shown in the UI by name only): provider keys, the callback secret, the database URL (it may hold
a password) and object-storage credentials.
"""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource, Definitions, EnvVar

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
from .settings import Settings, load_settings
from .triggers.schedules import build_retention_schedule
from .triggers.sensors import build_sensors


def _secret(variable: str | None) -> Any:
    """An ``EnvVar`` for a variable that is set, else None (the field stays unset)."""
    return EnvVar(variable) if variable else None


def database_resource(settings: Settings) -> DatabaseResource:
    """A URL with a password stays in its variable (``EnvVar``); one without is shown as is."""
    db = settings.database
    if db.url_variable and db.url != db.url_without_password:
        url: Any = EnvVar(db.url_variable)
    else:
        url = db.url_without_password
    return DatabaseResource(
        url=url,
        password=_secret(db.password_variable),
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
    )


def files_resource(settings: Settings) -> FileStorageResource:
    storage = settings.storage.config
    secrets = {
        name.lower().removeprefix("aws_"): EnvVar(name)
        for name in settings.storage.secret_variables
    }
    return FileStorageResource(
        data_dir=str(settings.data_dir),
        storage=storage.kind,
        bucket=storage.bucket,
        prefix=storage.prefix,
        inbox_prefix=settings.storage.inbox_prefix,
        endpoint_url=storage.endpoint_url,
        region=storage.region,
        public_base_url=storage.public_base_url,
        gcs_project=storage.gcs_project,
        gcs_credentials_file=str(storage.gcs_credentials_file)
        if storage.gcs_credentials_file
        else None,
        emulator_host=storage.emulator_host,
        **secrets,
    )


def fetcher_resource(settings: Settings) -> FetcherResource:
    fetch = settings.fetch
    return FetcherResource(
        media_roots=[str(p) for p in fetch.media_roots],
        allow_private_urls=fetch.allow_private_urls,
        max_download_bytes=fetch.max_media_bytes,
        download_timeout_s=fetch.download_timeout_s,
        max_redirects=fetch.max_redirects,
    )


def providers_resource(settings: Settings) -> ProvidersResource:
    """Keys as ``EnvVar`` (resolved in the run worker, never stored in run config); a provider
    whose key is unset when the code location loads stays off."""
    p = settings.providers
    keys = {f"{name}_api_key": EnvVar(ALL_SPECS[name].key_env) for name in p.enabled}
    return ProvidersResource(
        **keys,  # type: ignore[arg-type]
        base_urls=dict(p.base_urls),
        budget_usd=p.budget_usd,
        timeout_s=p.timeout_s,
        max_response_bytes=p.max_response_bytes,
        cache_max_age_s=p.cache_max_age_s,
        max_retries=p.max_retries,
        retry_base_delay_s=p.retry_base_delay_s,
        whisper_model=p.whisper_model,
        scene_threshold=p.scene_threshold,
        ocr=p.ocr,
    )


def callbacks_resource(settings: Settings) -> CallbackResource:
    """The signing secret as an ``EnvVar`` (never run config); unset = unsigned callbacks."""
    c = settings.callbacks
    return CallbackResource(
        secret=_secret("MEDIA_ANALYSIS_CALLBACK_SECRET" if c.secret_set else None),
        allow=c.allow,
        timeout_s=c.timeout_s,
        max_attempts=c.max_attempts,
        ui_base_url=c.ui_base_url,
    )


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """The five resources, filled from ``settings`` (tests and scripts use this too)."""
    return {
        "database": database_resource(settings),
        "files": files_resource(settings),
        "fetcher": fetcher_resource(settings),
        "providers": providers_resource(settings),
        "callbacks": callbacks_resource(settings),
    }


def build_definitions(settings: Settings | None = None) -> Definitions:
    """Everything the code location serves (a function so tests can load it afresh)."""
    settings = settings or load_settings()
    s, r = settings.sensors, settings.retention
    return Definitions(
        assets=TABLE_SPECS,
        jobs=[media_analysis_job, retention_cleanup_job],
        sensors=build_sensors(
            interval_s=s.interval_s,
            batch=s.batch,
            cancellation_interval_s=s.cancellation_interval_s,
            liveness_interval_s=s.liveness_interval_s,
            callback_interval_s=settings.callbacks.interval_s,
        ),
        schedules=[build_retention_schedule(r.cron, r.timezone, r.days)],
        resources=build_resources(settings),
    )


defs = build_definitions()
