"""Dagster's own storage, chosen by the environment: PostgreSQL when ``DAGSTER_POSTGRES_URL``
is set, SQLite under ``$DAGSTER_HOME/storage`` otherwise.

Why not plain ``storage: postgres: postgres_url: {env: DAGSTER_POSTGRES_URL}``: Dagster's CLI
reads ``./dagster.yaml`` when ``DAGSTER_HOME`` is unset, so on a fresh clone every
``dg check defs`` or ``dagster definitions validate`` in the project root would fail for want of a
production database. With this class the root ``dagster.yaml`` is the production instance and
still loads anywhere. The objects returned are Dagster's own ``DagsterPostgresStorage`` /
``DagsterSqliteStorage``; only the serialized reference points back here, so run workers choose
the same way. Set ``MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES=1`` in production to make a missing
URL an error instead of a fallback.

Pooled connections: Dagster's PostgreSQL storages open a new connection for every query
(``NullPool``) — measured about 290 connections per request here, and PostgreSQL's backend
start-ups took a quarter of this 2-core machine during a burst, capping the drain at ~25
requests/min. Each engine is switched to a small pool with Dagster's own
``optimize_for_webserver`` (what the webserver does to itself): ~38 requests/min
(``benchmarks/drain.py``). ``pooled_connections: false`` restores Dagster's behaviour.
"""

from __future__ import annotations

import logging
from typing import Any

from dagster import Field

from .. import settings
from .private_api import ConfigurableClass, ConfigurableClassData, DagsterStorage, load

log = logging.getLogger(__name__)


class EnvSelectedStorage(DagsterStorage, ConfigurableClass):
    """Never instantiated itself: ``from_config_value`` returns the storage to use."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "postgres_url_env": Field(str, default_value="DAGSTER_POSTGRES_URL"),
            "sqlite_base_dir_env": Field(str, default_value="DAGSTER_HOME"),
            "pooled_connections": Field(bool, default_value=True),
            "pool_max_overflow": Field(int, default_value=20),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> DagsterStorage:
        chosen = settings.dagster_storage(
            config_value["postgres_url_env"], config_value["sqlite_base_dir_env"]
        )
        url = chosen.postgres_url
        if url:
            from dagster_postgres import DagsterPostgresStorage

            storage = DagsterPostgresStorage(postgres_url=url, inst_data=inst_data)
            if config_value["pooled_connections"]:
                for part in (
                    storage.run_storage,
                    storage.event_log_storage,
                    storage.schedule_storage,
                ):
                    part.optimize_for_webserver(  # type: ignore[attr-defined]
                        statement_timeout=0,
                        pool_recycle=3600,
                        max_overflow=config_value["pool_max_overflow"],
                    )
                    _pre_ping(part)
                    _keep_pre_ping(part)
            return storage
        if chosen.require_postgres:
            raise RuntimeError(
                f"{config_value['postgres_url_env']} is not set, and "
                "MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES forbids the SQLite fallback."
            )
        DagsterSqliteStorage = load("dagster._core.storage.sqlite_storage", "DagsterSqliteStorage")
        base = chosen.sqlite_base_dir
        log.debug(
            "%s is not set: Dagster storage is SQLite under %s",
            config_value["postgres_url_env"],
            base,
        )
        return DagsterSqliteStorage.from_local(str(base / "storage"), inst_data=inst_data)


def _pre_ping(part: Any) -> None:
    """A pooled connection may outlive a PostgreSQL restart: check it on checkout (what
    ``create_engine(pool_pre_ping=True)`` sets), or the first query after a restart fails (a
    GraphQL ``launchRun`` answered HTTP 500)."""
    part._engine.pool._pre_ping = True


def _keep_pre_ping(part: Any) -> None:
    """``dagster-webserver`` calls ``optimize_for_webserver`` again at start-up, and that makes a
    new engine without the check: wrap this object's method so every engine it makes has it."""
    original = part.optimize_for_webserver

    def optimize_for_webserver(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        _pre_ping(part)

    part.optimize_for_webserver = optimize_for_webserver
