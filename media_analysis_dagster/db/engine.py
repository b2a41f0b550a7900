"""Engines for the four tables, checked with retries while the server starts.

The caller owns each engine: ``DatabaseResource`` builds one when a run (or a sensor tick) sets
it up and disposes of it in ``teardown_after_execution``; the CLI and the demo close theirs on
exit. SQLite (the embedded default)
gets foreign keys switched on and a ``gen_random_uuid()`` SQL function so that server-side
defaults behave as on PostgreSQL.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from media_analysis_dagster.net.backoff import retry_call

log = logging.getLogger(__name__)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function("gen_random_uuid", 0, lambda: uuid.uuid4().hex)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def build_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """Create an engine (no caching): ``pool_pre_ping`` drops connections the server closed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"timeout": 30, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {},
    )


def wait_until_reachable(
    engine: Engine, *, attempts: int = 6, base_delay: float = 0.5, max_delay: float = 8.0
) -> None:
    """Open one connection, retrying with ``net.backoff``'s delays (exponential, jittered).

    A database that restarts (or a container that is still starting) should delay a run by a
    few seconds, not fail it; a wrong password still fails after the last attempt.
    """

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def warn(attempt: int, exc: BaseException, delay: float) -> None:
        orig = getattr(exc, "orig", None)
        log.warning(
            "database unreachable (attempt %d/%d): %s; retrying in %.1fs",
            attempt,
            attempts,
            str(orig).strip().splitlines()[0] if orig else exc,
            delay,
        )

    retry_call(
        ping,
        attempts=attempts,
        base_delay=base_delay,
        max_delay=max_delay,
        retryable=(OperationalError,),
        on_retry=warn,
    )


def connect_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 10, connect_attempts: int = 6
) -> Engine:
    """A new engine for ``url``, checked (with retries) before it is returned; the caller owns
    it and disposes of it (``DatabaseResource`` does in ``teardown_after_execution``)."""
    engine = build_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    try:
        wait_until_reachable(engine, attempts=connect_attempts)
    except Exception:
        engine.dispose()
        raise
    return engine
