"""SQLAlchemy 2.x models of the seed's four tables.

They must agree with ``schema/001_init.sql`` on PostgreSQL (a test compares both), so names of
CHECK and foreign-key constraints are the ones PostgreSQL gives the seed's inline constraints.
The same models create the embedded SQLite database: JSONB becomes JSON, UUIDs are stored as
hex strings, and ``gen_random_uuid()`` is a SQL function registered on every SQLite connection
(``db.engine``), so rows inserted by anything that uses our engine get ids from the database as
they do on PostgreSQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .constants import (
    FILE_TYPES,
    GENERATION_METHODS,
    MEDIA_TYPES,
    PROVIDERS,
    RESULT_TYPES,
    STATUSES,
    STORAGE_LOCATIONS,
)
from .safe_types import SafeJson, SafeString, SafeText

JsonB = SafeJson()
NOW = func.now()
NEW_UUID = text("gen_random_uuid()")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _check(table: str, column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(_in(column, values), name=f"{table}_{column}_check")


def _request_fk(table: str) -> ForeignKey:
    return ForeignKey(
        "media_analysis_requests.request_id",
        ondelete="CASCADE",
        name=f"{table}_request_id_fkey",
    )


class Base(DeclarativeBase):
    pass


class MediaAnalysisRequest(Base):
    __tablename__ = "media_analysis_requests"
    __table_args__ = (
        _check(__tablename__, "media_type", MEDIA_TYPES),
        _check(__tablename__, "status", STATUSES),
        Index("idx_media_requests_status", "status"),
        Index("idx_media_requests_created_at", text("created_at DESC")),
        Index("idx_media_requests_media_type", "media_type"),
        Index("idx_media_requests_status_created", "status", text("created_at DESC")),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    media_type: Mapped[str] = mapped_column(SafeString(20), nullable=False)
    status: Mapped[str] = mapped_column(
        SafeString(30), nullable=False, server_default=text("'pending'")
    )
    prompt: Mapped[str | None] = mapped_column(SafeText)
    media_url: Mapped[str | None] = mapped_column(SafeText)
    media_path: Mapped[str | None] = mapped_column(SafeText)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processing_time_ms: Mapped[int | None] = mapped_column(Integer)
    confidence_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    error_message: Mapped[str | None] = mapped_column(SafeText)
    error_details: Mapped[dict[str, Any] | None] = mapped_column(JsonB)
    user_metadata: Mapped[dict[str, Any] | None] = mapped_column(JsonB, server_default=text("'{}'"))
    created_by: Mapped[str | None] = mapped_column(SafeString(100))
    source_endpoint: Mapped[str | None] = mapped_column(SafeString(100))
    provider_chain: Mapped[list[Any] | None] = mapped_column(JsonB, server_default=text("'[]'"))
    api_costs: Mapped[dict[str, Any] | None] = mapped_column(JsonB, server_default=text("'{}'"))

    results: Mapped[list[MediaAnalysisResult]] = relationship(
        back_populates="request", passive_deletes=True, order_by="MediaAnalysisResult.created_at"
    )
    files: Mapped[list[MediaFile]] = relationship(
        back_populates="request", passive_deletes=True, order_by="MediaFile.created_at"
    )
    contact_sheets: Mapped[list[ContactSheet]] = relationship(
        back_populates="request", passive_deletes=True, order_by="ContactSheet.sheet_number"
    )


class MediaAnalysisResult(Base):
    __tablename__ = "media_analysis_results"
    __table_args__ = (
        _check(__tablename__, "result_type", RESULT_TYPES),
        _check(__tablename__, "provider", PROVIDERS),
        Index("idx_results_request_id", "request_id"),
        Index("idx_results_result_type", "result_type"),
        Index("idx_results_provider", "provider"),
        Index("idx_results_created_at", text("created_at DESC")),
    )

    result_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, _request_fk(__tablename__), nullable=False)
    result_type: Mapped[str] = mapped_column(SafeString(50), nullable=False)
    provider: Mapped[str] = mapped_column(SafeString(50), nullable=False)
    model_name: Mapped[str | None] = mapped_column(SafeString(100))
    content: Mapped[str | None] = mapped_column(SafeText)
    content_json: Mapped[Any | None] = mapped_column(JsonB)
    confidence_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    processing_time_ms: Mapped[int | None] = mapped_column(Integer)
    token_count: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JsonB, server_default=text("'{}'")
    )
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)

    request: Mapped[MediaAnalysisRequest] = relationship(back_populates="results")


class MediaFile(Base):
    __tablename__ = "media_files"
    __table_args__ = (
        _check(__tablename__, "file_type", FILE_TYPES),
        _check(__tablename__, "storage_location", STORAGE_LOCATIONS),
        Index("idx_files_request_id", "request_id"),
        Index("idx_files_file_type", "file_type"),
        Index("idx_files_created_at", text("created_at DESC")),
        Index("idx_files_mime_type", "mime_type"),
    )

    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, _request_fk(__tablename__), nullable=False)
    file_type: Mapped[str] = mapped_column(SafeString(30), nullable=False)
    file_path: Mapped[str] = mapped_column(SafeText, nullable=False)
    file_name: Mapped[str | None] = mapped_column(SafeString(255))
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(SafeString(100))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    frame_number: Mapped[int | None] = mapped_column(Integer)
    sequence_order: Mapped[int | None] = mapped_column(Integer)
    checksum: Mapped[str | None] = mapped_column(SafeString(64))
    storage_location: Mapped[str | None] = mapped_column(
        SafeString(50), server_default=text("'local'")
    )
    remote_url: Mapped[str | None] = mapped_column(SafeText)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)

    request: Mapped[MediaAnalysisRequest] = relationship(back_populates="files")


class ContactSheet(Base):
    __tablename__ = "contact_sheets"
    __table_args__ = (
        _check(__tablename__, "generation_method", GENERATION_METHODS),
        Index("idx_contact_sheets_request_id", "request_id"),
        Index("idx_contact_sheets_file_id", "file_id"),
    )

    contact_sheet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=NEW_UUID
    )
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, _request_fk(__tablename__), nullable=False)
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("media_files.file_id", ondelete="SET NULL", name="contact_sheets_file_id_fkey"),
    )
    grid_cols: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("2"))
    grid_rows: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("3"))
    frame_count: Mapped[int] = mapped_column(Integer, nullable=False)
    frames_per_sheet: Mapped[int] = mapped_column(Integer, nullable=False)
    sheet_number: Mapped[int | None] = mapped_column(Integer)
    total_sheets: Mapped[int | None] = mapped_column(Integer)
    frame_interval_seconds: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    image_width: Mapped[int | None] = mapped_column(Integer)
    image_height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_width: Mapped[int | None] = mapped_column(Integer)
    thumbnail_height: Mapped[int | None] = mapped_column(Integer)
    generation_method: Mapped[str | None] = mapped_column(
        SafeString(50), server_default=text("'ffmpeg'")
    )
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)

    request: Mapped[MediaAnalysisRequest] = relationship(back_populates="contact_sheets")
