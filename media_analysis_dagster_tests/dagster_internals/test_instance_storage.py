"""Dagster's own storage on PostgreSQL through ``EnvSelectedStorage``: pooled connections that
survive their server-side end (a PostgreSQL restart ends every session)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from media_analysis_dagster.dagster_internals.instance_storage import EnvSelectedStorage

pytestmark = pytest.mark.postgres


def _terminate_other_sessions(url: str) -> int:
    """End every other session on the database of ``url``, as a restart would; how many."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            ended = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(ended)


@pytest.mark.parametrize("webserver", [False, True], ids=["daemon", "webserver"])
def test_pooled_storage_survives_ended_sessions(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, webserver: bool
) -> None:
    """Issue 9: after PostgreSQL ended the pooled sessions, the next query reconnects instead of
    failing, also after ``dagster-webserver``'s own ``optimize_for_webserver`` made new engines
    (the webserver's first launch after a restart once answered HTTP 500)."""
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    config = {
        "postgres_url_env": "DAGSTER_POSTGRES_URL",
        "sqlite_base_dir_env": "DAGSTER_HOME",
        "pooled_connections": True,
        "pool_max_overflow": 20,
    }
    storage = EnvSelectedStorage.from_config_value(None, config)
    parts = (storage.run_storage, storage.event_log_storage, storage.schedule_storage)
    try:
        if webserver:
            for part in parts:
                part.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)
        storage.run_storage.get_runs()  # a pooled connection is now open
        storage.schedule_storage.all_instigator_state()
        assert _terminate_other_sessions(pg_url) >= 1
        assert storage.run_storage.get_runs() == []
        assert storage.schedule_storage.all_instigator_state() == []
    finally:
        for part in parts:
            part.dispose()
