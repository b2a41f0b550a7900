"""Numbers that do not fit their column are stored bounded (or NULL), never a failed write:
a huge pixel aspect ratio, an absurd token count, ``inf`` from a division by zero."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Float, Integer, Numeric, select, update

from media_analysis_dagster.db.bounds import INT32_MAX, bounded, numeric_max
from media_analysis_dagster.db.models import Base
from media_analysis_dagster.db.rows import NewFile, NewResult, NewSheet
from media_analysis_dagster.db.safe_types import (
    SafeBigInteger,
    SafeFloat,
    SafeInteger,
    SafeNumeric,
    safe_json,
)
from media_analysis_dagster.db.store import Store

HOSTILE = (10**30, -(10**30), math.inf, -math.inf, math.nan)
INT32, INT64 = 2**31 - 1, 2**63 - 1


def _numeric_columns() -> list[Any]:
    return [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(getattr(column.type, "impl", column.type), Integer | Numeric | Float)
    ]


def test_every_numeric_column_uses_a_bounded_type() -> None:
    columns = _numeric_columns()
    assert len(columns) > 25
    unsafe = [
        str(c) for c in columns if not isinstance(c.type, SafeInteger | SafeNumeric | SafeFloat)
    ]
    assert unsafe == []
    for column in columns:
        if not column.nullable:
            assert column.type.nullable is False, f"{column}: NaN would become NULL there"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10**30, INT32),
        (-(10**30), -INT32),
        (math.inf, None),
        (math.nan, None),
        (True, 1),
        (" 42 ", 42),
        ("1e3", 1000),
        ("12.5", 13),
        (12.5, 13),
        (-12.5, -13),
        ("9" * 5000, INT32),
        ("twelve", None),
        (Decimal("NaN"), None),
        (object(), None),
        (None, None),
        (7, 7),
    ],
)
def test_integer_rules(value: Any, expected: int | None) -> None:
    assert SafeInteger().process_bind_param(value, None) == expected  # type: ignore[arg-type]


def test_not_null_columns_get_a_number_for_nan_and_infinity() -> None:
    strict = SafeInteger(nullable=False)
    assert [strict.process_bind_param(v, None) for v in HOSTILE] == [  # type: ignore[arg-type]
        INT32,
        -INT32,
        INT32,
        -INT32,
        0,
    ]
    assert SafeBigInteger().process_bind_param(10**30, None) == INT64  # type: ignore[arg-type]


def test_numeric_rules() -> None:
    score = SafeNumeric(5, 4)
    assert numeric_max(5, 4) == Decimal("9.9999") and numeric_max(10, 6) == Decimal("9999.999999")
    assert score.process_bind_param(0.81234, None) == Decimal("0.8123")  # type: ignore[arg-type]
    assert score.process_bind_param(0.81235, None) == Decimal("0.8124")  # type: ignore[arg-type]
    assert score.process_bind_param(9.99996, None) == Decimal("9.9999"), "rounds, then bounds"  # type: ignore[arg-type]
    assert score.process_bind_param(-1e30, None) == Decimal("-9.9999")  # type: ignore[arg-type]
    assert score.process_bind_param(math.nan, None) is None  # type: ignore[arg-type]
    assert score.process_bind_param(0.1, None) == Decimal("0.1000"), "from repr, not binary"  # type: ignore[arg-type]
    assert SafeFloat().process_bind_param(10**400, None) == pytest.approx(1.7976931348623157e308)  # type: ignore[arg-type]
    assert SafeFloat().process_bind_param(-math.inf, None) is None  # type: ignore[arg-type]
    assert bounded(10**30, INT32_MAX, 0, nullable=True) == INT32_MAX


def test_bounding_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="media_analysis_dagster.db.bounds"):
        SafeInteger().process_bind_param(10**30, None)  # type: ignore[arg-type]
    assert "2147483647" in caplog.text


def test_json_integers_beyond_any_reader_become_null() -> None:
    assert safe_json({"a": 10**400, "b": 2**80, "c": [Decimal("1.5"), Decimal("Infinity")]}) == {
        "a": None,
        "b": 2**80,
        "c": [1.5, None],
    }


def _one_row_in_every_table(store: Store) -> str:
    rid = str(store.create_request(media_path="/v.mp4", status="processing")["request_id"])
    store.replace_rows(
        rid,
        files=[NewFile(file_type="contact_sheet", file_path="/s.jpg")],
        results=[NewResult(result_type="summary", provider="internal", content="A summary.")],
        sheets=[NewSheet(frame_count=6, frames_per_sheet=6, file_index=0)],
    )
    assert store.reserve_usd(rid, 0.1, 1.0)[0]
    assert store.enqueue_callback(rid, f"{rid}:completed:r", "https://hooks.example/x", {})
    return rid


def _expected(column: Any, value: float | int) -> Any:
    kind = column.type
    if isinstance(value, float) and math.isnan(value):
        return 0 if not column.nullable else None
    if isinstance(value, float) and math.isinf(value) and column.nullable:
        return None
    sign = 1 if value > 0 else -1
    if isinstance(kind, SafeNumeric):
        return pytest.approx(sign * float(numeric_max(kind.precision, kind.scale)))
    return sign * (INT64 if isinstance(kind, SafeBigInteger) else INT32)


def test_every_numeric_column_stores_hostile_numbers(store: Store) -> None:
    """Each numeric column of each table gets 10**30, -10**30, ±inf and NaN: no error."""
    _one_row_in_every_table(store)
    with store.engine.begin() as conn:
        for column in _numeric_columns():
            for value in HOSTILE:
                conn.execute(update(column.table).values({column.name: value}))
                stored = conn.scalar(select(column))
                stored = float(stored) if isinstance(stored, Decimal) else stored
                expected = _expected(column, value)
                assert stored == expected, (str(column), value, stored)


def test_absurd_numbers_from_a_run_are_stored(store: Store) -> None:
    """The probed case: a huge pixel aspect ratio and a provider's absurd usage count."""
    rid = _one_row_in_every_table(store)
    store.replace_rows(
        rid,
        file_types=["frame"],
        result_types=["vision_analysis"],
        files=[
            NewFile(
                file_type="frame",
                file_path="/f.jpg",
                width=10**30,
                height=-(10**30),
                duration_seconds=math.inf,
                frame_number=math.nan,  # type: ignore[arg-type]
                file_size_bytes=10**30,
            )
        ],
        results=[
            NewResult(
                result_type="vision_analysis",
                provider="openai",
                token_count=10**30,
                processing_time_ms=10**12,
                cost_usd=1e30,
                confidence_score=math.nan,
                content_json={"tokens": 10**30, "ratio": math.inf},
            )
        ],
    )
    assert store.reserve_usd(rid, 1e30, math.inf)[0]
    assert store.complete_request(
        rid, confidence_score=1e30, provider_chain=[], api_costs={"total": 1e400}
    )
    row = store.get_request(rid)
    assert row is not None
    frame = next(f for f in row["files"] if f["file_type"] == "frame")
    assert (frame["width"], frame["height"]) == (INT32, -INT32)
    assert frame["duration_seconds"] is None and frame["frame_number"] is None
    assert frame["file_size_bytes"] == INT64
    vision = next(r for r in row["results"] if r["result_type"] == "vision_analysis")
    assert vision["token_count"] == INT32 and vision["processing_time_ms"] == INT32
    assert vision["cost_usd"] == pytest.approx(9999.999999) and vision["confidence_score"] is None
    assert vision["content_json"] == {"tokens": 10**30, "ratio": None}
    assert row["confidence_score"] == pytest.approx(9.9999)
    assert row["api_costs"] == {"total": None}
