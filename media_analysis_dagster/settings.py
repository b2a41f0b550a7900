"""Environment → one typed, validated ``Settings``. The variable names are a contract (README,
"Configuration"; ``docs/architecture.md``).

This is the only reader of ``os.environ`` in the package. ``load_settings()`` reads every variable
once and checks it, so a bad value (a typo in a number, an unknown storage location, a missing
model directory, an unparsable database URL) fails when the code location loads, in one sentence
naming the variable, not in the middle of a run. ``definitions.py`` then hands the values to
resources and triggers as fields (secrets as ``dagster.EnvVar``, resolved where the resource runs
and never shown), so what the UI's resource view shows is what is in force; the CLI and the demo
use the same ``Settings``. Every default lives here and nowhere else. Runs started on other
hosts (``$DAGSTER_HOME/dagster.yaml``) must reach the artifacts and both databases: checked too.

Database URL precedence, first match wins: ``MEDIA_ANALYSIS_DATABASE_URL``, ``SYNC_DATABASE_URL``,
``DATABASE_URL`` (async drivers such as ``+asyncpg`` are replaced by the sync one), the parts
``MEDIA_ANALYSIS_DB_HOST/_PORT/_NAME/_USER/_PASSWORD``, else the SQLite file
``<MEDIA_ANALYSIS_DATA_DIR>/media_analysis.db`` (the embedded default).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dagster import DagsterInvalidDefinitionError, ScheduleDefinition

from .db.urls import normalize_database_url
from .net.addresses import AllowList
from .providers.specs import ALL_SPECS
from .settings_types import (
    DEFAULT_SCENE_THRESHOLD,
    CallbackSettings,
    DatabaseSettings,
    FetchSettings,
    ProviderSettings,
    RetentionSettings,
    SensorSettings,
    Settings,
    SettingsError,
    StorageSettings,
)
from .storage import DEFAULT_PREFIX, StorageConfig, StorageError

URL_VARIABLES = ("MEDIA_ANALYSIS_DATABASE_URL", "SYNC_DATABASE_URL", "DATABASE_URL")
KEEP_FOREVER = {"off", "never", "none"}
SPEECH_OFF = {"off", "none", "false", "0"}
RETENTION_DAYS_VARIABLES = {
    "completed_days": "MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS",
    "failed_days": "MEDIA_ANALYSIS_RETENTION_FAILED_DAYS",
    "cancelled_days": "MEDIA_ANALYSIS_RETENTION_CANCELLED_DAYS",
}


class _Env:
    """Typed reads of one environment mapping; blank values count as unset."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        return self.env.get(name, "").strip() or None

    def whole(self, name: str, default: int, minimum: int = 1) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, not {value}.")
        return value

    def number(self, name: str, default: float, minimum: float = 0.0) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
        if not value >= minimum or value == float("inf"):
            raise SettingsError(f"{name} must be a finite number of at least {minimum:g}.")
        return value


def _database(e: _Env, data_dir: Path) -> DatabaseSettings:
    base = DatabaseSettings
    pool = {
        "pool_size": e.whole("MEDIA_ANALYSIS_DB_POOL_SIZE", base.pool_size),
        "max_overflow": e.whole("MEDIA_ANALYSIS_DB_MAX_OVERFLOW", base.max_overflow, minimum=0),
    }
    schema = e.text("MEDIA_ANALYSIS_SCHEMA_DIR")
    pool["schema_dir"] = Path(schema) if schema else None  # type: ignore[assignment]
    for name in URL_VARIABLES:
        if (raw := e.text(name)) is not None:
            return DatabaseSettings(_parsed(name, raw), url_variable=name, **pool)  # type: ignore[arg-type]
    host = e.text("MEDIA_ANALYSIS_DB_HOST")
    if host is None:
        url = f"sqlite:///{data_dir / 'media_analysis.db'}"
        return DatabaseSettings(url, **pool)  # type: ignore[arg-type]
    from sqlalchemy.engine import URL

    password = e.text("MEDIA_ANALYSIS_DB_PASSWORD")
    url = URL.create(
        "postgresql",
        username=e.text("MEDIA_ANALYSIS_DB_USER"),
        password=password,
        host=host,
        port=e.whole("MEDIA_ANALYSIS_DB_PORT", 5432),
        database=e.text("MEDIA_ANALYSIS_DB_NAME") or "postgres",
    ).render_as_string(hide_password=False)
    variable = "MEDIA_ANALYSIS_DB_PASSWORD" if password else None
    return DatabaseSettings(url, password_variable=variable, **pool)  # type: ignore[arg-type]


def _parsed(name: str, raw: str) -> str:
    try:
        return normalize_database_url(raw)
    except Exception:  # SQLAlchemy's ArgumentError, ValueError of a bad port …
        raise SettingsError(f"{name} is not a database URL SQLAlchemy can read.") from None


def _fetch(e: _Env, data_dir: Path) -> FetchSettings:
    raw = e.text("MEDIA_ANALYSIS_MEDIA_ROOTS")
    roots = (
        tuple(Path(p).expanduser().absolute() for p in raw.split(os.pathsep) if p.strip())
        if raw
        else (data_dir / "inbox",)
    )
    allow = e.text("MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS") or ""
    _allow_list(allow, "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")
    return FetchSettings(
        media_roots=roots,
        allow_private_urls=allow,
        max_media_bytes=e.whole("MEDIA_ANALYSIS_MAX_MEDIA_BYTES", FetchSettings.max_media_bytes),
        download_timeout_s=e.number(
            "MEDIA_ANALYSIS_DOWNLOAD_TIMEOUT_S", FetchSettings.download_timeout_s, minimum=1.0
        ),
    )


def _allow_list(spec: str, variable: str) -> None:
    try:
        AllowList.parse(spec, variable=variable)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


STORAGE_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _storage(e: _Env, data_dir: Path) -> StorageSettings:
    credentials = e.text("GOOGLE_APPLICATION_CREDENTIALS")
    try:
        config = StorageConfig(
            kind=(e.text("MEDIA_ANALYSIS_STORAGE") or "local"),  # type: ignore[arg-type]
            local_root=data_dir,
            bucket=e.text("MEDIA_ANALYSIS_STORAGE_BUCKET"),
            prefix=e.text("MEDIA_ANALYSIS_STORAGE_PREFIX") or DEFAULT_PREFIX,
            endpoint_url=e.text("MEDIA_ANALYSIS_S3_ENDPOINT_URL"),
            region=e.text("AWS_REGION") or e.text("AWS_DEFAULT_REGION"),
            access_key_id=e.text("AWS_ACCESS_KEY_ID"),
            secret_access_key=e.text("AWS_SECRET_ACCESS_KEY"),
            session_token=e.text("AWS_SESSION_TOKEN"),
            public_base_url=e.text("MEDIA_ANALYSIS_PUBLIC_BASE_URL"),
            gcs_project=e.text("GOOGLE_CLOUD_PROJECT"),
            gcs_credentials_file=Path(credentials) if credentials else None,
            emulator_host=e.text("STORAGE_EMULATOR_HOST"),
        )
    except StorageError as exc:
        raise SettingsError(f"MEDIA_ANALYSIS_STORAGE settings: {exc}") from None
    inbox = e.text("MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX") or StorageSettings.inbox_prefix
    parts = [p for p in inbox.split("/") if p]
    if not parts or any(p in {".", ".."} for p in parts) or parts[0] == "requests":
        raise SettingsError(
            f"MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX={inbox!r} must name a folder such as 'inbox/' "
            "that is not 'requests/' (where artifacts live)."
        )
    secrets = tuple(name for name in STORAGE_SECRETS if e.text(name))
    return StorageSettings(config, "/".join(parts) + "/", secrets)


def _whisper_model(e: _Env) -> str | None:
    raw = e.text("MEDIA_ANALYSIS_WHISPER_MODEL")
    if raw and raw.lower() in SPEECH_OFF:
        return None
    if raw is None:
        from .media.speech import default_model

        return default_model()
    looks_like_path = "/" in raw or raw.startswith(".") or Path(raw).expanduser().exists()
    if looks_like_path and not (Path(raw).expanduser() / "model.bin").is_file():
        raise SettingsError(
            f"MEDIA_ANALYSIS_WHISPER_MODEL={raw!r} is not a faster-whisper model directory "
            "(no model.bin in it); give a directory, a model name, or 'off'."
        )
    return raw


def _ocr(e: _Env) -> bool:
    """``MEDIA_ANALYSIS_OCR``: ``auto`` reads text with the bundled engine when it is installed;
    ``off`` never reads."""
    raw = (e.text("MEDIA_ANALYSIS_OCR") or "auto").lower()
    if raw not in {"auto", "off"}:
        raise SettingsError(f"MEDIA_ANALYSIS_OCR must be auto or off, not {raw!r}.")
    if raw == "off":
        return False
    from .media.ocr import ocr_available

    return ocr_available()


def _providers(e: _Env) -> ProviderSettings:
    base = ProviderSettings()
    threshold = e.number("MEDIA_ANALYSIS_SCENE_THRESHOLD", DEFAULT_SCENE_THRESHOLD, minimum=0.1)
    if threshold > 255:
        raise SettingsError("MEDIA_ANALYSIS_SCENE_THRESHOLD must be at most 255.")
    budget = e.text("MEDIA_ANALYSIS_BUDGET_USD")
    return ProviderSettings(
        enabled=tuple(name for name, spec in ALL_SPECS.items() if e.text(spec.key_env)),
        base_urls={
            name: url for name, spec in ALL_SPECS.items() if (url := e.text(spec.base_url_env))
        },
        budget_usd=e.number("MEDIA_ANALYSIS_BUDGET_USD", 0.0) if budget else None,
        cache_max_age_s=e.whole("MEDIA_ANALYSIS_CACHE_MAX_AGE_S", base.cache_max_age_s, minimum=0),
        max_retries=e.whole("MEDIA_ANALYSIS_PROVIDER_RETRIES", base.max_retries, minimum=0),
        retry_base_delay_s=e.number(
            "MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S", base.retry_base_delay_s
        ),
        timeout_s=e.number("MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S", base.timeout_s, minimum=0.1),
        max_response_bytes=e.whole(
            "MEDIA_ANALYSIS_PROVIDER_MAX_RESPONSE_BYTES", base.max_response_bytes, minimum=1024
        ),
        whisper_model=_whisper_model(e),
        scene_threshold=threshold,
        ocr=_ocr(e),
    )


def _callbacks(e: _Env) -> CallbackSettings:
    allow = e.text("MEDIA_ANALYSIS_CALLBACK_ALLOW") or ""
    _allow_list(allow, "MEDIA_ANALYSIS_CALLBACK_ALLOW")
    base = CallbackSettings()
    return CallbackSettings(
        secret_set=e.text("MEDIA_ANALYSIS_CALLBACK_SECRET") is not None,
        allow=allow,
        timeout_s=e.number("MEDIA_ANALYSIS_CALLBACK_TIMEOUT_S", base.timeout_s, minimum=0.1),
        max_attempts=e.whole("MEDIA_ANALYSIS_CALLBACK_ATTEMPTS", base.max_attempts),
        interval_s=e.whole("MEDIA_ANALYSIS_CALLBACK_INTERVAL_S", base.interval_s),
        ui_base_url=e.text("MEDIA_ANALYSIS_DAGSTER_UI_URL"),
    )


def _sensors(e: _Env) -> SensorSettings:
    base = SensorSettings()
    return SensorSettings(
        interval_s=e.whole("MEDIA_ANALYSIS_SENSOR_INTERVAL_S", base.interval_s),
        batch=e.whole("MEDIA_ANALYSIS_SENSOR_BATCH", base.batch),
        cancellation_interval_s=e.whole(
            "MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S", base.cancellation_interval_s
        ),
        liveness_interval_s=e.whole("MEDIA_ANALYSIS_LIVENESS_INTERVAL_S", base.liveness_interval_s),
    )


def _days(name: str, raw: str) -> int | None:
    if raw.lower() in KEEP_FOREVER:
        return None
    try:
        days = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number of days (or 'off').") from None
    if days < 1:
        raise SettingsError(f"{name}={raw!r}: retention is at least 1 day (or 'off').")
    return days


def _retention(e: _Env) -> RetentionSettings:
    timezone = e.text("MEDIA_ANALYSIS_RETENTION_TIMEZONE") or RetentionSettings.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"MEDIA_ANALYSIS_RETENTION_TIMEZONE={timezone!r} is not an IANA timezone."
        ) from None
    cron = e.text("MEDIA_ANALYSIS_RETENTION_CRON") or RetentionSettings.cron
    try:  # Dagster's own check, the one the schedule definition would fail on
        ScheduleDefinition(name="check", cron_schedule=cron, job_name="check")
    except DagsterInvalidDefinitionError:
        raise SettingsError(
            f"MEDIA_ANALYSIS_RETENTION_CRON={cron!r} is not a cron schedule of 5 fields."
        ) from None
    days = {
        key: _days(name, raw)
        for key, name in RETENTION_DAYS_VARIABLES.items()
        if (raw := e.text(name)) is not None
    }
    return RetentionSettings(cron=cron, timezone=timezone, days=days)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Every setting, read once and checked (``env`` defaults to ``os.environ``)."""
    e = _Env(os.environ if env is None else env)
    data_dir = Path(e.text("MEDIA_ANALYSIS_DATA_DIR") or ".media_analysis").expanduser().absolute()
    home = e.text("DAGSTER_HOME")
    settings = Settings(
        data_dir=data_dir,
        database=_database(e, data_dir),
        fetch=_fetch(e, data_dir),
        storage=_storage(e, data_dir),
        providers=_providers(e),
        callbacks=_callbacks(e),
        sensors=_sensors(e),
        retention=_retention(e),
        dagster_home=Path(home) if home else None,
    )
    _check_runs_elsewhere(e, settings)
    return settings


# --- runs on other hosts (deploy/celery, deploy/helm) ---------------------------------------


def _dagster_storage_is_sqlite(e: _Env, config: Mapping[str, Any]) -> bool:
    """Whether the instance keeps runs and events in SQLite (Dagster's default without
    ``storage``; ``EnvSelectedStorage`` without its URL variable)."""
    storage = config.get("storage")
    if isinstance(storage, dict) and storage:
        kind, value = next(iter(storage.items()))
        custom = value if kind == "custom" and isinstance(value, dict) else {}
        if custom.get("class") == "EnvSelectedStorage":
            names = custom.get("config") or {}
            return e.text(names.get("postgres_url_env", "DAGSTER_POSTGRES_URL")) is None
        return kind == "sqlite" or "sqlite" in str(custom.get("class", "")).lower()
    runs = config.get("run_storage")
    return not isinstance(runs, dict) or "sqlite" in str(runs.get("class", "sqlite")).lower()


def _check_runs_elsewhere(e: _Env, settings: Settings) -> None:
    """A run launcher that starts runs on other hosts (Celery, Kubernetes, Docker, ECS: anything
    but ``DefaultRunLauncher``) needs every file and row a run touches reachable from there.
    Read from the instance's own ``$DAGSTER_HOME/dagster.yaml`` (unreadable: Dagster says why),
    so no second switch can disagree with it."""
    try:
        home = settings.dagster_home
        config = yaml.safe_load((home / "dagster.yaml").read_text()) if home else None
    except (OSError, yaml.YAMLError):
        return
    if not isinstance(config, dict):
        return
    launcher = config.get("run_launcher")
    name = str(launcher.get("class", "")) if isinstance(launcher, dict) else ""
    if not name or name == "DefaultRunLauncher":
        return
    local = []
    if settings.storage.config.kind == "local":
        local.append("artifacts (MEDIA_ANALYSIS_STORAGE=local; use s3, r2 or gcs)")
    if settings.database.url.startswith("sqlite"):
        local.append("the tables (SQLite; set MEDIA_ANALYSIS_DATABASE_URL to PostgreSQL)")
    if _dagster_storage_is_sqlite(e, config):
        local.append("Dagster's storage (SQLite; set DAGSTER_POSTGRES_URL)")
    if local:
        raise SettingsError(
            f"{home}/dagster.yaml starts runs on other hosts ({name}), which cannot reach what "
            f"stays on this host's disk: {'; '.join(local)}."
        )


# --- Dagster's own storage (read by dagster.yaml's storage class) ---------------------------


@dataclass(frozen=True)
class DagsterStorageChoice:
    postgres_url: str | None
    sqlite_base_dir: Path
    require_postgres: bool


def dagster_storage(
    postgres_url_env: str = "DAGSTER_POSTGRES_URL",
    sqlite_base_dir_env: str = "DAGSTER_HOME",
    env: Mapping[str, str] | None = None,
) -> DagsterStorageChoice:
    """What ``dagster.yaml``'s environment-selected storage uses (names from its config);
    ``dagster_internals/instance_storage.py`` calls it when Dagster loads the instance."""
    e = _Env(os.environ if env is None else env)
    require = (e.text("MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES") or "").lower() in {"1", "true"}
    return DagsterStorageChoice(
        postgres_url=e.text(postgres_url_env),
        sqlite_base_dir=Path(e.text(sqlite_base_dir_env) or tempfile.gettempdir()),
        require_postgres=require,
    )
