"""The typed values ``settings.load_settings`` returns: one frozen dataclass per concern, each
default in one place (the field's default). Resources and triggers never see these: they get
plain values as fields from ``definitions.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .db.urls import redact_url
from .media.scenes import DEFAULT_THRESHOLD as DEFAULT_SCENE_THRESHOLD
from .storage import StorageConfig


class SettingsError(ValueError):
    """A variable with a value the project cannot use; the message names it."""


@dataclass(frozen=True)
class DatabaseSettings:
    """The four tables' database. ``url`` holds the password: hand ``url_variable`` (and
    ``password_variable``) to resources as ``EnvVar`` and show only ``redacted``."""

    url: str
    url_variable: str | None = None  # the variable the URL came from, if one did
    password_variable: str | None = None  # MEDIA_ANALYSIS_DB_PASSWORD with the parts form
    pool_size: int = 5
    max_overflow: int = 10
    schema_dir: Path | None = None

    @property
    def redacted(self) -> str:
        return redact_url(self.url)

    @property
    def url_without_password(self) -> str:
        """The URL a resource field may show (the password comes from ``password_variable``)."""
        from sqlalchemy.engine import URL, make_url

        u = make_url(self.url)
        bare = URL.create(u.drivername, u.username, None, u.host, u.port, u.database, u.query)
        return bare.render_as_string(hide_password=False)


@dataclass(frozen=True)
class FetchSettings:
    """Where media may come from (``media_path`` roots, private addresses) and download limits."""

    media_roots: tuple[Path, ...]
    allow_private_urls: str = ""
    max_media_bytes: int = 2 * 1024**3
    download_timeout_s: float = 300.0
    max_redirects: int = 5


@dataclass(frozen=True)
class StorageSettings:
    """Artifact storage. ``config`` holds the credentials it was given (for the CLI); resources get
    the ``secret_variables`` that are set as ``EnvVar`` instead."""

    config: StorageConfig
    inbox_prefix: str = "inbox/"
    secret_variables: tuple[str, ...] = ()  # AWS_ACCESS_KEY_ID … when set


@dataclass(frozen=True)
class ProviderSettings:
    """AI providers: which are enabled (their key is set), endpoints, budget, retries, limits."""

    enabled: tuple[str, ...] = ()
    base_urls: Mapping[str, str] = field(default_factory=dict)
    budget_usd: float | None = None
    cache_max_age_s: int = 7 * 24 * 3600
    max_retries: int = 3
    retry_base_delay_s: float = 0.5
    timeout_s: float = 120.0
    max_response_bytes: int = 64 * 1024**2
    whisper_model: str | None = None
    scene_threshold: float = DEFAULT_SCENE_THRESHOLD
    ocr: bool = True  # MEDIA_ANALYSIS_OCR=auto and the bundled engine installed


@dataclass(frozen=True)
class CallbackSettings:
    """Completion callbacks: signing, where they may go, and the delivery queue's pace."""

    secret_set: bool = False
    allow: str = ""
    timeout_s: float = 10.0
    max_attempts: int = 10
    interval_s: int = 5
    ui_base_url: str | None = None


@dataclass(frozen=True)
class SensorSettings:
    """How often the sensors tick and how many runs a tick may request (``triggers/``)."""

    interval_s: int = 2
    batch: int = 50
    cancellation_interval_s: int = 15
    liveness_interval_s: int = 30


@dataclass(frozen=True)
class RetentionSettings:
    cron: str = "0 2 * * *"
    timezone: str = "UTC"
    days: Mapping[str, int | None] = field(default_factory=dict)  # overrides by the env


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: DatabaseSettings
    fetch: FetchSettings
    storage: StorageSettings
    providers: ProviderSettings
    callbacks: CallbackSettings
    sensors: SensorSettings
    retention: RetentionSettings
    dagster_home: Path | None = None
