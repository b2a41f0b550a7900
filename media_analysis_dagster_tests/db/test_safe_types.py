"""Text PostgreSQL cannot store is made storable in one place, the column types, whatever its
source: NUL in TEXT and JSON, invalid UTF-8, NaN in JSON, strings longer than a VARCHAR."""

from __future__ import annotations

import math

from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.safe_types import REPLACEMENT, safe_json, safe_text
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
