"""``DatabaseResource``: the four tables, through one ``Store`` per run or sensor tick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from .env_values import resolved

if TYPE_CHECKING:
    from ..db.store import Store


class DatabaseResource(ConfigurableResource):
    """The four tables. A run or a sensor tick opens its own connection pool, waits for the
    database while it starts, and closes the pool when it ends."""

    url: str = Field(
        description="SQLAlchemy URL of the tables (MEDIA_ANALYSIS_DATABASE_URL, "
        "SYNC_DATABASE_URL, DATABASE_URL, MEDIA_ANALYSIS_DB_* or the SQLite file in the data "
        "dir, in that order); async drivers are mapped to sync ones."
    )
    password: str | None = Field(
        default=None,
        description="The password, when it has its own variable (MEDIA_ANALYSIS_DB_PASSWORD).",
    )
    pool_size: int = Field(
        ge=1, description="Connections kept per process (MEDIA_ANALYSIS_DB_POOL_SIZE)."
    )
    max_overflow: int = Field(
        ge=0, description="Extra connections under load (MEDIA_ANALYSIS_DB_MAX_OVERFLOW)."
    )

    _store: Store | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        from ..db.urls import normalize_database_url, with_password

        return with_password(normalize_database_url(resolved(self.url)), resolved(self.password))

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._store = self._build_store()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close the engine's pooled connections when the run (or sensor tick) ends."""
        if self._store is not None:
            self._store.engine.dispose()
            self._store = None

    def _build_store(self) -> Store:
        from ..db.engine import connect_engine
        from ..db.schema import ensure_embedded_tables
        from ..db.store import Store

        engine = connect_engine(
            self.resolved_url(), pool_size=self.pool_size, max_overflow=self.max_overflow
        )
        ensure_embedded_tables(engine)
        return Store(engine)

    @property
    def store(self) -> Store:
        """The store; built on first use outside Dagster's setup (a resource made by hand)."""
        if self._store is None:
            self._store = self._build_store()
        return self._store
