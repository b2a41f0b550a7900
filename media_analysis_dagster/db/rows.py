"""Plain values going into and coming out of the store.

Ops build ``NewFile``/``NewResult``/``NewSheet`` and hand them to ``Store.replace_rows``; the
store returns JSON-ready dicts (UUIDs as strings, decimals as floats, times as ISO 8601), which
is also the shape the CLI prints and the seed's ``/status`` endpoint returned.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import DeclarativeBase


@dataclass
class NewFile:
    file_type: str
    file_path: str
    file_name: str | None = None
    file_size_bytes: int | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    frame_number: int | None = None
    sequence_order: int | None = None
    checksum: str | None = None
    storage_location: str = "local"
    remote_url: str | None = None


@dataclass
class NewResult:
    result_type: str
    provider: str
    model_name: str | None = None
    content: str | None = None
    content_json: Any = None
    confidence_score: float | None = None
    processing_time_ms: int | None = None
    token_count: int | None = None
    cost_usd: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class NewSheet:
    """A contact sheet; ``file_index`` points at its image in the same ``replace_rows`` call."""

    frame_count: int
    frames_per_sheet: int
    grid_cols: int = 2
    grid_rows: int = 3
    file_index: int | None = None
    sheet_number: int | None = None
    total_sheets: int | None = None
    frame_interval_seconds: float | None = None
    image_width: int | None = None
    image_height: int | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None
    generation_method: str = "custom"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        aware = as_utc(value)
        return aware.isoformat() if aware else None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def row_dict(obj: DeclarativeBase, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """All columns of an ORM object by column name (``metadata``, not ``metadata_``)."""
    table = obj.__table__  # type: ignore[attr-defined]
    mapper = obj.__mapper__
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name in exclude:
            continue
        attr = mapper.get_property_by_column(column).key
        out[column.name] = jsonable(getattr(obj, attr))
    return out
