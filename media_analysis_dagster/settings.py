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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

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
