"""Environment → typed settings. The variable names are a contract (DESIGN.md §3).

Database URL precedence, first match wins:

1. ``MEDIA_ANALYSIS_DATABASE_URL``
2. ``SYNC_DATABASE_URL`` (the seed's sync URL)
3. ``DATABASE_URL`` (the seed's async URL; ``+asyncpg`` and other async drivers are replaced by
   the sync driver, so ``postgresql+asyncpg://`` becomes ``postgresql://``)
4. ``MEDIA_ANALYSIS_DB_HOST`` with ``_PORT`` (5432), ``_NAME`` (postgres), ``_USER``,
   ``_PASSWORD`` (the seed's ``.env``)
5. SQLite file ``<MEDIA_ANALYSIS_DATA_DIR>/media_analysis.db`` (the embedded default)

Plain ``postgresql://`` URLs are what operators write; with SQLAlchemy 2.0.x they use psycopg2,
which both our tables and ``dagster-postgres`` work with.

This module is the only reader of ``os.environ`` in the package (secrets aside, which resources
receive as ``dagster.EnvVar`` and Dagster resolves in the run worker). Every function takes an
optional ``env`` mapping so tests pass plain dicts; a malformed value fails with a sentence that
names the variable, when the code location loads rather than in the middle of a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from .storage import StorageConfig

DEFAULT_DATA_DIR = ".media_analysis"
_ASYNC_DRIVERS = {"asyncpg": None, "psycopg_async": "psycopg", "aiosqlite": None}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def normalize_database_url(url: str) -> str:
    """Map async drivers to sync ones and ``postgres://`` to ``postgresql://``."""
    from sqlalchemy.engine import make_url

    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if driver in _ASYNC_DRIVERS:
        sync = _ASYNC_DRIVERS[driver]
        parsed = parsed.set(drivername=f"{backend}+{sync}" if sync else backend)
    return parsed.render_as_string(hide_password=False)


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(_get(env, "MEDIA_ANALYSIS_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().absolute()


def database_url(env: Mapping[str, str] | None = None) -> str:
    """The URL of the four tables, by the precedence in this module's docstring."""
    env = os.environ if env is None else env
    for name in ("MEDIA_ANALYSIS_DATABASE_URL", "SYNC_DATABASE_URL", "DATABASE_URL"):
        value = _get(env, name)
        if value:
            return normalize_database_url(value)
    host = _get(env, "MEDIA_ANALYSIS_DB_HOST")
    if host:
        from sqlalchemy.engine import URL

        port = _get(env, "MEDIA_ANALYSIS_DB_PORT")
        return URL.create(
            "postgresql",
            username=_get(env, "MEDIA_ANALYSIS_DB_USER"),
            password=_get(env, "MEDIA_ANALYSIS_DB_PASSWORD"),
            host=host,
            port=int(port) if port else 5432,
            database=_get(env, "MEDIA_ANALYSIS_DB_NAME") or "postgres",
        ).render_as_string(hide_password=False)
    return f"sqlite:///{data_dir(env) / 'media_analysis.db'}"


def media_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """Directories ``media_path`` may point into (``:``-separated); default ``<data dir>/inbox``."""
    env = os.environ if env is None else env
    raw = _get(env, "MEDIA_ANALYSIS_MEDIA_ROOTS")
    if not raw:
        return [data_dir(env) / "inbox"]
    return [Path(p).expanduser().absolute() for p in raw.split(os.pathsep) if p.strip()]


def redact_url(url: str) -> str:
    """The URL with its password masked, for logs and CLI output."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@dataclass(frozen=True)
class PoolSettings:
    pool_size: int = 5
    max_overflow: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PoolSettings:
        env = os.environ if env is None else env
        return cls(
            pool_size=int(_get(env, "MEDIA_ANALYSIS_DB_POOL_SIZE") or 5),
            max_overflow=int(_get(env, "MEDIA_ANALYSIS_DB_MAX_OVERFLOW") or 10),
        )


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def env_int(name: str, default: int, minimum: int = 1, env: Mapping[str, str] | None = None) -> int:
    """A whole-number setting of at least ``minimum``; a typo fails loudly, naming the variable."""
    raw = _get(_env(env), name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_float(
    name: str, default: float | None, env: Mapping[str, str] | None = None
) -> float | None:
    raw = _get(_env(env), name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}.") from None


def schema_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """``MEDIA_ANALYSIS_SCHEMA_DIR`` when set (else the caller's default, ``schema/``)."""
    raw = _get(_env(env), "MEDIA_ANALYSIS_SCHEMA_DIR")
    return Path(raw) if raw else None


def dagster_home(env: Mapping[str, str] | None = None) -> Path | None:
    """``DAGSTER_HOME`` when set: the demo then records its run in that instance."""
    raw = _get(_env(env), "DAGSTER_HOME")
    return Path(raw) if raw else None


# --- fetching media -------------------------------------------------------------------------


def allow_private_urls(env: Mapping[str, str] | None = None) -> str:
    """``MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS``: 'true'/'false' or networks, lower-cased."""
    return (_get(_env(env), "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS") or "").lower()


def max_media_bytes(env: Mapping[str, str] | None = None) -> int:
    """``MEDIA_ANALYSIS_MAX_MEDIA_BYTES``: the download/copy size limit (2 GiB)."""
    return env_int("MEDIA_ANALYSIS_MAX_MEDIA_BYTES", 2 * 1024**3, env=env)


# --- providers ------------------------------------------------------------------------------


def providers_with_keys(env: Mapping[str, str] | None = None) -> list[str]:
    """Providers whose key variable (``providers/specs.py``) is set: those are enabled."""
    from .providers.specs import ALL_SPECS

    e = _env(env)
    return [name for name, spec in ALL_SPECS.items() if _get(e, spec.key_env)]


def provider_base_urls(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{provider: <PROVIDER>_BASE_URL}`` for the providers pointed at another endpoint."""
    from .providers.specs import ALL_SPECS

    e = _env(env)
    urls = {name: _get(e, spec.base_url_env) for name, spec in ALL_SPECS.items()}
    return {name: url for name, url in urls.items() if url}


@dataclass(frozen=True)
class ProviderTuning:
    """Budget, retries and timeout of provider calls (``MEDIA_ANALYSIS_BUDGET_USD`` …)."""

    budget_usd: float | None = None
    cache_max_age_s: int = 7 * 24 * 3600
    max_retries: int = 3
    retry_base_delay_s: float = 0.5
    timeout_s: float = 120.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderTuning:
        return cls(
            budget_usd=env_float("MEDIA_ANALYSIS_BUDGET_USD", None, env),
            cache_max_age_s=env_int(
                "MEDIA_ANALYSIS_CACHE_MAX_AGE_S", 7 * 24 * 3600, minimum=0, env=env
            ),
            max_retries=env_int("MEDIA_ANALYSIS_PROVIDER_RETRIES", 3, minimum=0, env=env),
            retry_base_delay_s=env_float("MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S", 0.5, env) or 0.0,
            timeout_s=env_float("MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S", 120.0, env) or 120.0,
        )


# --- sensors and the retention schedule -----------------------------------------------------


@dataclass(frozen=True)
class SensorSettings:
    """How often the sensors tick and how many runs a tick may request (``triggers/``)."""

    interval_s: int = 2
    batch: int = 50
    cancellation_interval_s: int = 15

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SensorSettings:
        return cls(
            interval_s=env_int("MEDIA_ANALYSIS_SENSOR_INTERVAL_S", 2, env=env),
            batch=env_int("MEDIA_ANALYSIS_SENSOR_BATCH", 50, env=env),
            cancellation_interval_s=env_int("MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S", 15, env=env),
        )


RETENTION_DAYS_VARIABLES = {
    "completed_days": "MEDIA_ANALYSIS_RETENTION_COMPLETED_DAYS",
    "failed_days": "MEDIA_ANALYSIS_RETENTION_FAILED_DAYS",
    "cancelled_days": "MEDIA_ANALYSIS_RETENTION_CANCELLED_DAYS",
}
KEEP_FOREVER = {"off", "never", "none"}


def _days(name: str, raw: str) -> int | None:
    if raw.lower() in KEEP_FOREVER:
        return None
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a whole number of days (or 'off').") from None
    if days < 1:
        raise ValueError(f"{name}={raw!r}: retention is at least 1 day (or 'off').")
    return days


def retention_days(env: Mapping[str, str] | None = None) -> dict[str, int | None]:
    """Retention per status that the environment overrides (``None`` = keep forever)."""
    e = _env(env)
    return {
        field: _days(name, raw)
        for field, name in RETENTION_DAYS_VARIABLES.items()
        if (raw := _get(e, name)) is not None
    }


@dataclass(frozen=True)
class RetentionSchedule:
    cron: str = "0 2 * * *"
    timezone: str = "UTC"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionSchedule:
        e = _env(env)
        cron = _get(e, "MEDIA_ANALYSIS_RETENTION_CRON") or cls.cron
        timezone = _get(e, "MEDIA_ANALYSIS_RETENTION_TIMEZONE") or cls.timezone
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"MEDIA_ANALYSIS_RETENTION_TIMEZONE={timezone!r} is not an IANA timezone."
            ) from None
        return cls(cron=cron, timezone=timezone)


# --- Dagster's own storage (dagster.yaml) ---------------------------------------------------


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
    """What ``dagster.yaml``'s environment-selected storage uses (names from its config)."""
    import tempfile

    e = _env(env)
    require = (_get(e, "MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES") or "").lower() in {"1", "true"}
    return DagsterStorageChoice(
        postgres_url=_get(e, postgres_url_env),
        sqlite_base_dir=Path(_get(e, sqlite_base_dir_env) or tempfile.gettempdir()),
        require_postgres=require,
    )


# --- artifact storage -------------------------------------------------------------------------


def storage_config(env: Mapping[str, str] | None = None) -> StorageConfig:
    """Where artifacts live (``MEDIA_ANALYSIS_STORAGE`` and friends, DESIGN §3); credentials
    left unset fall back to boto3's and google-auth's own lookup."""
    from .storage import StorageConfig

    e = _env(env)
    credentials = _get(e, "GOOGLE_APPLICATION_CREDENTIALS")
    return StorageConfig(
        kind=(_get(e, "MEDIA_ANALYSIS_STORAGE") or "local"),  # type: ignore[arg-type]
        local_root=data_dir(e),
        bucket=_get(e, "MEDIA_ANALYSIS_STORAGE_BUCKET"),
        prefix=_get(e, "MEDIA_ANALYSIS_STORAGE_PREFIX") or "media-analysis/",
        endpoint_url=_get(e, "MEDIA_ANALYSIS_S3_ENDPOINT_URL"),
        region=_get(e, "AWS_REGION") or _get(e, "AWS_DEFAULT_REGION"),
        access_key_id=_get(e, "AWS_ACCESS_KEY_ID"),
        secret_access_key=_get(e, "AWS_SECRET_ACCESS_KEY"),
        session_token=_get(e, "AWS_SESSION_TOKEN"),
        public_base_url=_get(e, "MEDIA_ANALYSIS_PUBLIC_BASE_URL"),
        gcs_project=_get(e, "GOOGLE_CLOUD_PROJECT"),
        gcs_credentials_file=Path(credentials) if credentials else None,
        emulator_host=_get(e, "STORAGE_EMULATOR_HOST"),
    )


# --- local speech-to-text -------------------------------------------------------------------

SPEECH_OFF = {"off", "none", "false", "0"}


def whisper_model(env: Mapping[str, str] | None = None) -> str | None:
    """``MEDIA_ANALYSIS_WHISPER_MODEL``: a faster-whisper model name or directory; ``off``
    disables local speech-to-text; unset = the bundled ``tiny.en`` when it is installed."""
    raw = _get(_env(env), "MEDIA_ANALYSIS_WHISPER_MODEL")
    if raw and raw.lower() in SPEECH_OFF:
        return None
    if raw:
        return raw
    from .media.speech import default_model

    return default_model()


# --- completion callbacks ---------------------------------------------------------------------


def callback_allow(env: Mapping[str, str] | None = None) -> str | None:
    """``MEDIA_ANALYSIS_CALLBACK_ALLOW``: networks or hosts a ``callback_url`` may reach besides
    public addresses (n8n usually sits on a private network)."""
    return _get(_env(env), "MEDIA_ANALYSIS_CALLBACK_ALLOW")


def callback_secret_set(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``MEDIA_ANALYSIS_CALLBACK_SECRET`` is set (the resource reads it as an EnvVar)."""
    return _get(_env(env), "MEDIA_ANALYSIS_CALLBACK_SECRET") is not None


def ui_base_url(env: Mapping[str, str] | None = None) -> str | None:
    """``MEDIA_ANALYSIS_DAGSTER_UI_URL``: the webserver's address as readers reach it, for the
    run link in callbacks (e.g. ``https://dagster.example.com``)."""
    return _get(_env(env), "MEDIA_ANALYSIS_DAGSTER_UI_URL")
