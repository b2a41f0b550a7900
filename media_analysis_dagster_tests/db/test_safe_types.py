"""Text PostgreSQL cannot store is made storable in one place, the column types, whatever its
source: NUL in TEXT and JSON, invalid UTF-8, NaN in JSON, strings longer than a VARCHAR; and
``None`` in a JSON column is SQL NULL, not the JSON document ``null``."""

from __future__ import annotations

import math

from sqlalchemy import text, update

from media_analysis_dagster.db.models import Base
from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.safe_types import REPLACEMENT, SafeJson, safe_json, safe_text
from media_analysis_dagster.db.store import Store


def test_cleaning_rules() -> None:
    assert safe_text("a\x00b") == f"a{REPLACEMENT}b"
    assert safe_text("bad \udcff surrogate") == "bad ? surrogate"
    assert safe_json({"k\x00": ["v\x00", math.nan, 1.5, {"x": math.inf}]}) == {
        f"k{REPLACEMENT}": [f"v{REPLACEMENT}", None, 1.5, {"x": None}]
    }


def test_every_text_and_json_column_stores_hostile_values(store: Store) -> None:
    row = store.create_request(
        media_type="document",
        media_path="/in\x00box/a.pdf",
        prompt="Who is in it,\x00 what happens?",
        user_metadata={"title\x00": "ImageMagick\x00 PDF", "n": math.nan},
        created_by="x" * 300 + "\x00",
        source_endpoint="n8n\x00",
        status="processing",
    )
    rid = row["request_id"]
    store.replace_rows(
        rid,
        file_types=["document"],
        files=[NewFile(file_type="document", file_path="/t\x00.txt", file_name="t\x00.txt")],
        results=[
            NewResult(
                result_type="text_analysis",
                provider="internal",
                content="text with \x00 inside",
                content_json={"title": "A\x00B", "score": math.nan},
                metadata={"task": "text_analysis", "note": "\x00"},
            )
        ],
    )
    assert store.fail_request(rid, "It failed\x00.", {"message": "bad\x00", "x": [math.inf]})
    saved = store.get_request(rid)
    assert saved is not None
    assert saved["prompt"] == f"Who is in it,{REPLACEMENT} what happens?"
    assert saved["user_metadata"] == {
        f"title{REPLACEMENT}": f"ImageMagick{REPLACEMENT} PDF",
        "n": None,
    }
    assert len(saved["created_by"]) == 100 and saved["created_by"].endswith("…")
    assert saved["error_message"] == f"It failed{REPLACEMENT}."
    assert saved["error_details"] == {"message": f"bad{REPLACEMENT}", "x": [None]}
    [result] = saved["results"]
    assert result["content"] == f"text with {REPLACEMENT} inside"
    assert result["content_json"] == {"title": f"A{REPLACEMENT}B", "score": None}
    [file] = saved["files"]
    assert file["file_path"] == f"/t{REPLACEMENT}.txt"


def _is_sql_null(store: Store, table: str, column: str) -> list[bool]:
    with store.engine.connect() as conn:
        return [bool(v) for (v,) in conn.execute(text(f'SELECT "{column}" IS NULL FROM {table}'))]


def test_a_request_that_never_failed_has_sql_null_error_details(store: Store) -> None:
    """n8n finds rows without an error with ``WHERE error_details IS NULL``."""
    rid = store.create_request(media_type="video", media_path="/v.mp4")["request_id"]
    assert _is_sql_null(store, "media_analysis_requests", "error_details") == [True]
    store.claim_request(rid)
    assert _is_sql_null(store, "media_analysis_requests", "error_details") == [True]
    store.complete_request(rid, confidence_score=None, provider_chain=[], api_costs={})
    assert _is_sql_null(store, "media_analysis_requests", "error_details") == [True]
    store.end_request(rid, "failed", "Broken.", {"step": "x"}, from_statuses=("completed",))
    store.claim_request(rid, from_statuses=("failed",))  # a re-executed run clears the error
    assert _is_sql_null(store, "media_analysis_requests", "error_details") == [True]


def test_none_is_sql_null_in_every_json_column(store: Store) -> None:
    rid = store.create_request(media_type="video", media_path="/v.mp4")["request_id"]
    store.replace_rows(rid, results=[NewResult(result_type="summary", provider="internal")])
    json_columns = [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, SafeJson) and column.nullable
    ]
    names = {f"{c.table.name}.{c.name}" for c in json_columns}
    assert names == {
        "media_analysis_requests.error_details",
        "media_analysis_requests.user_metadata",
        "media_analysis_requests.provider_chain",
        "media_analysis_requests.api_costs",
        "media_analysis_results.content_json",
        "media_analysis_results.metadata",
    }
    with store.engine.begin() as conn:
        for column in json_columns:
            conn.execute(update(column.table).values({column.name: None}))
    for column in json_columns:
        assert _is_sql_null(store, column.table.name, column.name) == [True], str(column)
    [result] = store.results(rid)
    assert result["content_json"] is None and result["metadata"] is None
