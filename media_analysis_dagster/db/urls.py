"""Database URLs as operators write them, made usable, and shown without their password.

Plain ``postgresql://`` URLs are what operators write; with SQLAlchemy 2.0.x they use psycopg2,
which both our tables and ``dagster-postgres`` work with. The seed's async URLs
(``postgresql+asyncpg://``) name drivers this synchronous code cannot use, so they are mapped to
the sync driver of the same database.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

_ASYNC_DRIVERS = {"asyncpg": None, "psycopg_async": "psycopg", "aiosqlite": None}


def normalize_database_url(url: str) -> str:
    """Map async drivers to sync ones and ``postgres://`` to ``postgresql://``."""
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if driver in _ASYNC_DRIVERS:
        sync = _ASYNC_DRIVERS[driver]
        parsed = parsed.set(drivername=f"{backend}+{sync}" if sync else backend)
    return parsed.render_as_string(hide_password=False)


def with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` filled in (when the password comes from its own variable)."""
    if not password:
        return url
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with its password masked, for logs, the UI and CLI output."""
    return make_url(url).render_as_string(hide_password=True)
