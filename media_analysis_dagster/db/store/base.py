"""What every part of the store shares: the engine, sessions, ids, the clock, write locks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

ACTIVE = ("pending", "processing")


def as_uuid(value: str | uuid.UUID) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """One engine; each method opens its own session or connection and commits before it
    returns, so a ``Store`` is safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A transaction that writes after it reads, committed on success.

        SQLite takes its write lock up front (``BEGIN IMMEDIATE``): a plain ``BEGIN`` would let
        two writers both read and then one fail to upgrade its lock. Other writers wait out the
        busy timeout. On PostgreSQL the caller locks the rows it reads (``FOR UPDATE``…).
        """
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
