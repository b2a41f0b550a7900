"""What ``requests`` and ``status`` print: a readable table and summary by default, the JSON
shapes scripts parse with ``--json``, and nothing a hostile row could use on a terminal."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from media_analysis_dagster.cli_output import clean, requests_table, span, status_summary
from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.db.store import Store

from .test_cli import run_main

HOSTILE = "evil\x1b[31m\u202ename\nsecond line\x00.mp4"


def set_row(store: Store, request_id: str, **values: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(request_id))
            .values(**values)
        )


@pytest.fixture
def four_rows(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A pending, a completed, a failed and a hostile row, as n8n or a run would leave them."""
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    engine = build_engine(sqlite_url)
    store = Store(engine)
    ids = {}
    now = datetime.now(UTC)
    for name, kwargs in {
        "pending": {"media_type": "video", "media_path": "/srv/inbox/pending.mp4"},
        "completed": {"media_type": "audio", "media_url": "https://example.com/a/talk.mp3"},
        "failed": {"media_type": "document", "media_path": "/srv/inbox/report.pdf"},
        "hostile": {"media_type": "auto", "media_path": f"/srv/inbox/{HOSTILE}"},
    }.items():
        ids[name] = str(store.create_request(**kwargs)["request_id"])
    set_row(
        store,
        ids["completed"],
        status="completed",
        started_at=now - timedelta(seconds=75),
        completed_at=now,
        processing_time_ms=75_400,
        api_costs={"openai": 0.0123, "total": 0.0123, "currency": "USD"},
    )
    set_row(
        store,
        ids["failed"],
        status="failed",
        started_at=now,
        completed_at=now,
        error_message="The document report.pdf is encrypted; give its password or a plain copy.",
        error_details={"hints": ["Export the PDF without a password."]},
    )
    engine.dispose()
    return ids


def test_requests_is_a_table_by_default_and_json_on_request(
    four_rows: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, "requests")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 + 4 + 1  # header, one line per row, footer
    assert lines[0].split() == ["id", "status", "type", "media", "created", "duration"]
    by_id = {line.split()[0]: line for line in lines[1:-1]}
    assert set(by_id) == set(four_rows.values())
    assert "completed" in by_id[four_rows["completed"]]
    assert "example.com/a/talk.mp3" in by_id[four_rows["completed"]]
    assert "1 min 15 s" in by_id[four_rows["completed"]]
    assert "pending.mp4" in by_id[four_rows["pending"]]
    assert "{" not in out and "1-4 of 4" in lines[-1]

    code, out_json, _ = run_main(capsys, "requests", "--json")
    page = json.loads(out_json)
    assert page["count"] == 4 and page["total"] == 4 and page["limit"] == 100
    assert {r["request_id"] for r in page["requests"]} == set(four_rows.values())
    assert len(out_json.splitlines()) > 10 * len(lines)  # what the table spares a reader


def test_requests_table_pages_and_filters(
    four_rows: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(capsys, "requests", "--limit", "2")
    assert code == 0 and "1-2 of 4; next page: --offset 2" in out
    code, out, _ = run_main(capsys, "requests", "--status", "failed")
    assert out.splitlines()[1].startswith(four_rows["failed"])
    code, out, _ = run_main(capsys, "requests", "--status", "cancelled")
    assert code == 0 and out.startswith("no requests")


def test_status_is_a_summary_by_default_and_json_on_request(
    four_rows: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(capsys, "status", four_rows["failed"])
    assert code == 0, err
    assert out.startswith(f"request    {four_rows['failed']}\nstatus     failed\n")
    assert "error      The document report.pdf is encrypted" in out
    assert "hint       Export the PDF without a password." in out
    assert f"media-analysis report {four_rows['failed']}" in out
    code, out, _ = run_main(capsys, "status", four_rows["completed"])
    assert "took 1 min 15 s" in out and "cost       $0.0123 (openai $0.0123)" in out
    assert "error " not in out

    code, out, _ = run_main(capsys, "status", four_rows["failed"], "--json")
    row = json.loads(out)
    assert row["status"] == "failed" and row["results"] == [] and row["files"] == []
    assert row["error_details"] == {"hints": ["Export the PDF without a password."]}


def test_hostile_text_reaches_no_terminal(
    four_rows: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (("requests",), ("status", four_rows["hostile"])):
        code, out, _ = run_main(capsys, *args)
        assert code == 0
        assert not any(ch in out for ch in "\x1b\u202e\x00")
    code, out, _ = run_main(capsys, "requests")
    [line] = [ln for ln in out.splitlines() if ln.startswith(four_rows["hostile"])]
    assert "evil?[31m?name second line" in line  # one line: escape and override shown as '?'


def test_pure_formatting() -> None:
    assert clean("a\tb\n\nc\u200bd", 20) == "a b c?d"
    assert clean("x" * 50, 10) == "x" * 9 + "…"
    assert [span(s) for s in (0.25, 12.34, 245, 3725)] == [
        "250 ms",
        "12.3 s",
        "4 min 05 s",
        "1 h 02 min",
    ]
    page = {"requests": [], "count": 0, "total": 0, "limit": 10, "offset": 0}
    assert requests_table(page).startswith("no requests")
    summary = status_summary(
        {
            "request_id": "r",
            "status": "completed",
            "media_type": "video",
            "media_path": "/x/clip.mp4",
            "results": [
                {"result_type": "summary", "provider": "internal", "content": "Facts.\n\nAnswer."}
            ],
            "files": [{"file_type": "frame", "file_path": f"/f/{n}.jpg"} for n in range(9)],
        }
    )
    assert "summary\n  Facts.\n  Answer." in summary
    assert "/f/0.jpg" in summary and "/f/1.jpg" not in summary and "8 more frame files" in summary
