"""Hostile and malformed rows: every value escaped, every size bounded, nothing raised."""

from __future__ import annotations

import io
import math
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from media_analysis_dagster.report import render_report, write_report
from media_analysis_dagster.report.text import bounded, clean, clock, esc, md

HOSTILE = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    "\x00\x07\u202eRTL-override\u2066 \ud800 [click](javascript:alert(3)) &amp; **bold**"
)
HUGE = "A" * 10_000_000
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "nav", "section",
    "footer", "h1", "h2", "h3", "p", "span", "bdi", "a", "dl", "dt", "dd", "div", "ul", "ol",
    "li", "figure", "figcaption", "img", "article", "details", "summary", "pre", "code",
    "time", "em",
}  # fmt: skip


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs |= {name for name, _ in attrs}
        self.sources += [v or "" for k, v in attrs if k in {"src", "href"}]


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def hostile_row(text: str) -> dict[str, Any]:
    """A failed video request whose every field holds ``text`` (or junk of the wrong type)."""
    segment = {"start": 1.0, "end": 2.0, "text": text}
    files = [
        {"file_id": "f1", "file_type": "original", "file_name": text, "file_path": "o",
         "file_size_bytes": math.inf, "duration_seconds": "nine"},
        {"file_id": "s1", "file_type": "contact_sheet", "file_name": text, "file_path": "bad"},
        {"file_id": "t1", "file_type": "thumbnail", "file_name": text, "file_path": "huge",
         "sequence_order": 0},
        {"file_id": "t2", "file_type": "thumbnail", "file_name": text, "file_path": "raise",
         "sequence_order": 1},
        {"file_id": "d1", "file_type": "document", "file_name": text, "file_path": "text"},
        "not a row",
    ]  # fmt: skip
    results = [
        {"result_type": "transcription", "provider": text, "model_name": text, "content": text,
         "content_json": {"segments": [segment] * 5 + ["junk", {"start": "x"}]},
         "confidence_score": math.nan, "cost_usd": text},
        {"result_type": "scene_detection", "provider": "internal", "content": text,
         "content_json": {"cut_times": [3.0, math.nan, "x", -1, 5.0], "cut_kinds": [text]}},
        {"result_type": "summary", "provider": "internal", "content": text + "\n\n" + text},
        {"result_type": text, "provider": text, "content_json": [text, {"a": text}]},
        {"result_type": "metadata_extraction", "content_json": {"video": {"fps": 0}}},
    ]  # fmt: skip
    return {
        "request_id": text,
        "media_type": text,
        "status": "failed",
        "prompt": text,
        "media_url": "https://user:secret@example.com/" + text + "?token=SECRET",
        "media_path": None,
        "created_at": text,
        "started_at": "2026-01-01T00:00:00",
        "completed_at": None,
        "processing_time_ms": text,
        "confidence_score": math.inf,
        "error_message": text,
        "error_details": {"step": text, "hints": [text, None, 5], "message": text},
        "api_costs": {"total": text, text: 1e308, "currency": text},
        "provider_chain": [{"provider": text, "status": "error", "error": text}, "junk", None],
        "files": files,
        "results": results,
        "contact_sheets": [{"file_id": "s1", "sheet_number": text, "grid_cols": text}],
    }


def hostile_read(file_row: dict[str, Any]) -> bytes:
    key = file_row["file_path"]
    if key == "huge":  # a picture that claims 60000x60000 pixels
        buf = io.BytesIO()
        Image.new("L", (1, 1)).save(buf, "PNG")
        data = bytearray(buf.getvalue())
        data[16:24] = (60000).to_bytes(4, "big") * 2
        return bytes(data)
    if key == "raise":
        raise PermissionError("/secret/path is not readable")
    if key == "text":
        return (HOSTILE + "\n\n").encode("utf-8", "surrogatepass") * 3
    return b"not an image at all"


@pytest.mark.parametrize("text", [HOSTILE, HUGE + HOSTILE], ids=["markup", "10MB"])
def test_every_value_escaped_and_bounded(text: str, tmp_path: Path) -> None:
    started = time.monotonic()
    path = write_report(hostile_row(text), hostile_read, tmp_path / "report.html")
    assert time.monotonic() - started < 10
    html = path.read_text(encoding="utf-8")
    assert len(html.encode("utf-8")) < 1_500_000
    parser = Tags()
    parser.feed(html)
    assert parser.tags <= ALLOWED_TAGS, parser.tags - ALLOWED_TAGS
    assert not {a for a in parser.attrs if a.startswith("on")}
    assert all(s.startswith(("#", "data:image/jpeg;base64,")) for s in parser.sources)
    assert "<script" not in html.lower()
    assert "\x00" not in html and "\x07" not in html and "\ud800" not in html
    assert "SECRET" not in html and "user:secret" not in html  # no URL query or credentials
    assert "&lt;script&gt;" in html
    assert "Why it failed" in html and "could not be read" in html
    assert "Calls that did not give a result" in html
    if len(text) > 1_000_000:
        assert "more characters" in html


def test_no_rows_at_all() -> None:
    html = render_report({}, hostile_read)
    assert html.startswith("<!DOCTYPE html>") and "Media analysis report" in html


def test_picture_budget(tmp_path: Path) -> None:
    """Past the budget of embedded pictures, a sentence replaces the picture."""
    frames = [
        {"file_id": f"t{i}", "file_type": "thumbnail", "file_path": str(i), "sequence_order": i}
        for i in range(400)
    ]
    row = {
        "status": "completed",
        "media_type": "video",
        "files": frames,
        "results": [
            {
                "result_type": "scene_detection",
                "content_json": {"cut_times": [i * 0.5 for i in range(1, 400)]},
            }
        ],
    }
    big = jpeg((320, 180))
    html = render_report(row, lambda f: big)
    assert html.count("<img") == 200  # MAX_SCENE_PICTURES
    assert 'id="t=199.5"' in html and html.count('id="t=') == 400


def test_text_helpers() -> None:
    assert clean("a\x00b\r\nc\u0085") == "a\ufffdb\nc\ufffd"
    cut = bounded("word " * 100, 42)
    assert cut.startswith("word word") and "… (" in cut and not cut.split(" …")[0].endswith("wo")
    assert esc('<a href="x">') == "&lt;a href=&quot;x&quot;&gt;"
    assert md("<script>[x](javascript:y)\u202e") == r"\<script\>\[x\]\(javascript\:y\)"
    assert [clock(s) for s in (0, 59.9, 61, 3600, math.nan)] == [
        "00:00", "00:59", "01:01", "1:00:00", "00:00",
    ]  # fmt: skip
