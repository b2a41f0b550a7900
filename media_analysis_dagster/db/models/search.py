"""The model of ``media_analysis_segments`` (``schema/003_search.sql``): searchable text.

On PostgreSQL the table carries a stored ``tsvector`` (``tsv``) made with the row's language
configuration (``media_analysis_ts_config``) and a GIN index over it; neither exists on SQLite,
where an FTS5 table over the same rows does the work (``db/schema.py`` creates it). So ``tsv`` is
a column of the table that the ORM never maps or selects, left out of SQLite's ``CREATE TABLE``,
and the function and the GIN index are created with the table on PostgreSQL only. The models
must agree with the SQL file on PostgreSQL (a test compares both).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Uuid,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import CreateColumn
from sqlalchemy.types import TypeEngine

from ..safe_types import SafeBigInteger, SafeInteger, SafeNumeric, SafeString, SafeText
from .base import NOW, Base, request_fk

TABLE = "media_analysis_segments"
#: The text search configuration of a language code (same text as in schema/003_search.sql).
TS_CONFIG_FUNCTION = """
CREATE OR REPLACE FUNCTION media_analysis_ts_config(language text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE lower(language)
        WHEN 'ar' THEN 'pg_catalog.arabic' WHEN 'hy' THEN 'pg_catalog.armenian'
        WHEN 'eu' THEN 'pg_catalog.basque' WHEN 'ca' THEN 'pg_catalog.catalan'
        WHEN 'da' THEN 'pg_catalog.danish' WHEN 'nl' THEN 'pg_catalog.dutch'
        WHEN 'en' THEN 'pg_catalog.english' WHEN 'fi' THEN 'pg_catalog.finnish'
        WHEN 'fr' THEN 'pg_catalog.french' WHEN 'de' THEN 'pg_catalog.german'
        WHEN 'el' THEN 'pg_catalog.greek' WHEN 'hi' THEN 'pg_catalog.hindi'
        WHEN 'hu' THEN 'pg_catalog.hungarian' WHEN 'id' THEN 'pg_catalog.indonesian'
        WHEN 'ga' THEN 'pg_catalog.irish' WHEN 'it' THEN 'pg_catalog.italian'
        WHEN 'lt' THEN 'pg_catalog.lithuanian' WHEN 'ne' THEN 'pg_catalog.nepali'
        WHEN 'no' THEN 'pg_catalog.norwegian' WHEN 'nb' THEN 'pg_catalog.norwegian'
        WHEN 'nn' THEN 'pg_catalog.norwegian' WHEN 'pt' THEN 'pg_catalog.portuguese'
        WHEN 'ro' THEN 'pg_catalog.romanian' WHEN 'ru' THEN 'pg_catalog.russian'
        WHEN 'sr' THEN 'pg_catalog.serbian' WHEN 'es' THEN 'pg_catalog.spanish'
        WHEN 'sv' THEN 'pg_catalog.swedish' WHEN 'ta' THEN 'pg_catalog.tamil'
        WHEN 'tr' THEN 'pg_catalog.turkish' WHEN 'yi' THEN 'pg_catalog.yiddish'
        ELSE 'pg_catalog.simple'
    END::regconfig
$$
"""
_POSTGRESQL_ONLY = "postgresql_only"


class SegmentId(SafeBigInteger):
    """``BIGINT``; on SQLite ``INTEGER``, which makes it the rowid itself, the key the FTS5
    table's ``content_rowid`` names."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Integer() if dialect.name == "sqlite" else BigInteger())


class MediaAnalysisSegment(Base):
    """One searchable piece of a result (or of a document's text), with its place."""

    __tablename__ = TABLE
    __table_args__ = (
        CheckConstraint(
            "result_id IS NOT NULL OR file_id IS NOT NULL", name=f"{TABLE}_source_check"
        ),
        Index("idx_segments_request_id", "request_id"),
        Index("idx_segments_result_id", "result_id"),
        Index("idx_segments_file_id", "file_id"),
        Index("idx_segments_kind", "kind"),
        Index("idx_segments_language", "language"),
    )
    __mapper_args__: dict[str, Any] = {"exclude_properties": ["tsv"]}

    segment_id: Mapped[int] = mapped_column(SegmentId(nullable=False), Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(TABLE), nullable=False)
    result_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey(
            "media_analysis_results.result_id", ondelete="CASCADE", name=f"{TABLE}_result_id_fkey"
        ),
    )
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("media_files.file_id", ondelete="CASCADE", name=f"{TABLE}_file_id_fkey"),
    )
    kind: Mapped[str] = mapped_column(SafeString(30), nullable=False)
    position: Mapped[int] = mapped_column(
        SafeInteger(nullable=False), nullable=False, server_default=text("0")
    )
    start_s: Mapped[Decimal | None] = mapped_column(SafeNumeric(12, 3))
    end_s: Mapped[Decimal | None] = mapped_column(SafeNumeric(12, 3))
    page: Mapped[int | None] = mapped_column(SafeInteger)
    language: Mapped[str | None] = mapped_column(SafeString(8))
    text: Mapped[str] = mapped_column(SafeText, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=NOW
    )
    tsv = Column(
        TSVECTOR,
        Computed("to_tsvector(media_analysis_ts_config(language), text)", persisted=True),
        info={_POSTGRESQL_ONLY: True},
    )


@compiles(CreateColumn, "sqlite")
def _skip_postgresql_only(element: CreateColumn, compiler: Any, **kw: Any) -> str | None:
    """SQLite gets no ``tsv`` column (``None`` leaves a column out of ``CREATE TABLE``)."""
    if element.element.info.get(_POSTGRESQL_ONLY):
        return None
    return compiler.visit_create_column(element, **kw)  # type: ignore[no-any-return]


_table = MediaAnalysisSegment.__table__
event.listen(_table, "before_create", DDL(TS_CONFIG_FUNCTION).execute_if(dialect="postgresql"))
event.listen(
    _table,
    "after_create",
    DDL(
        f"CREATE INDEX IF NOT EXISTS idx_segments_tsv ON {TABLE} "
        "USING gin (tsv) WITH (fastupdate = off)"
    ).execute_if(dialect="postgresql"),
)
