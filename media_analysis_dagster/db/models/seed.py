"""SQLAlchemy 2.x models of the seed's four tables (``schema/001_init.sql``), exactly.

The same models create the embedded SQLite database: JSONB becomes JSON, UUIDs are stored as
hex strings, and ``gen_random_uuid()`` is a SQL function registered on every SQLite connection
(``db.engine``), so rows inserted by anything that uses our engine get ids from the database as
they do on PostgreSQL. Every text, JSON and number column uses a ``safe_types`` type, so any
value is stored (cleaned or bounded) rather than failing the write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..constants import (
    FILE_TYPES,
    GENERATION_METHODS,
    MEDIA_TYPES,
    PROVIDERS,
    RESULT_TYPES,
    STATUSES,
    STORAGE_LOCATIONS,
)
from ..safe_types import SafeBigInteger, SafeInteger, SafeNumeric, SafeString, SafeText
from .base import NEW_UUID, NOW, Base, JsonB, check_in, request_fk


class MediaAnalysisRequest(Base):
    __tablename__ = "media_analysis_requests"
    __table_args__ = (
        check_in(__tablename__, "media_type", MEDIA_TYPES),
        check_in(__tablename__, "status", STATUSES),
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
    processing_time_ms: Mapped[int | None] = mapped_column(SafeInteger)
    confidence_score: Mapped[Decimal | None] = mapped_column(SafeNumeric(5, 4))
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
        check_in(__tablename__, "result_type", RESULT_TYPES),
        check_in(__tablename__, "provider", PROVIDERS),
        Index("idx_results_request_id", "request_id"),
        Index("idx_results_result_type", "result_type"),
        Index("idx_results_provider", "provider"),
        Index("idx_results_created_at", text("created_at DESC")),
    )

    result_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(__tablename__), nullable=False)
    result_type: Mapped[str] = mapped_column(SafeString(50), nullable=False)
    provider: Mapped[str] = mapped_column(SafeString(50), nullable=False)
    model_name: Mapped[str | None] = mapped_column(SafeString(100))
    content: Mapped[str | None] = mapped_column(SafeText)
    content_json: Mapped[Any | None] = mapped_column(JsonB)
    confidence_score: Mapped[Decimal | None] = mapped_column(SafeNumeric(5, 4))
    processing_time_ms: Mapped[int | None] = mapped_column(SafeInteger)
    token_count: Mapped[int | None] = mapped_column(SafeInteger)
    cost_usd: Mapped[Decimal | None] = mapped_column(SafeNumeric(10, 6))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column(
        "metadata", JsonB, server_default=text("'{}'")
    )
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)

    request: Mapped[MediaAnalysisRequest] = relationship(back_populates="results")


class MediaFile(Base):
    __tablename__ = "media_files"
    __table_args__ = (
        check_in(__tablename__, "file_type", FILE_TYPES),
        check_in(__tablename__, "storage_location", STORAGE_LOCATIONS),
        Index("idx_files_request_id", "request_id"),
        Index("idx_files_file_type", "file_type"),
        Index("idx_files_created_at", text("created_at DESC")),
        Index("idx_files_mime_type", "mime_type"),
    )

    file_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=NEW_UUID)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(__tablename__), nullable=False)
    file_type: Mapped[str] = mapped_column(SafeString(30), nullable=False)
    file_path: Mapped[str] = mapped_column(SafeText, nullable=False)
    file_name: Mapped[str | None] = mapped_column(SafeString(255))
    file_size_bytes: Mapped[int | None] = mapped_column(SafeBigInteger)
    mime_type: Mapped[str | None] = mapped_column(SafeString(100))
    width: Mapped[int | None] = mapped_column(SafeInteger)
    height: Mapped[int | None] = mapped_column(SafeInteger)
    duration_seconds: Mapped[Decimal | None] = mapped_column(SafeNumeric(10, 3))
    frame_number: Mapped[int | None] = mapped_column(SafeInteger)
    sequence_order: Mapped[int | None] = mapped_column(SafeInteger)
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
        check_in(__tablename__, "generation_method", GENERATION_METHODS),
        Index("idx_contact_sheets_request_id", "request_id"),
        Index("idx_contact_sheets_file_id", "file_id"),
    )

    contact_sheet_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=NEW_UUID
    )
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid, request_fk(__tablename__), nullable=False)
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid,
        ForeignKey("media_files.file_id", ondelete="SET NULL", name="contact_sheets_file_id_fkey"),
    )
    grid_cols: Mapped[int] = mapped_column(
        SafeInteger(nullable=False), nullable=False, server_default=text("2")
    )
    grid_rows: Mapped[int] = mapped_column(
        SafeInteger(nullable=False), nullable=False, server_default=text("3")
    )
    frame_count: Mapped[int] = mapped_column(SafeInteger(nullable=False), nullable=False)
    frames_per_sheet: Mapped[int] = mapped_column(SafeInteger(nullable=False), nullable=False)
    sheet_number: Mapped[int | None] = mapped_column(SafeInteger)
    total_sheets: Mapped[int | None] = mapped_column(SafeInteger)
    frame_interval_seconds: Mapped[Decimal | None] = mapped_column(SafeNumeric(10, 3))
    image_width: Mapped[int | None] = mapped_column(SafeInteger)
    image_height: Mapped[int | None] = mapped_column(SafeInteger)
    thumbnail_width: Mapped[int | None] = mapped_column(SafeInteger)
    thumbnail_height: Mapped[int | None] = mapped_column(SafeInteger)
    generation_method: Mapped[str | None] = mapped_column(
        SafeString(50), server_default=text("'ffmpeg'")
    )
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=NOW)

    request: Mapped[MediaAnalysisRequest] = relationship(back_populates="contact_sheets")
