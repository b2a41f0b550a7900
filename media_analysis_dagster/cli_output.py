"""What the command line prints: JSON for scripts, and the readable table and summary a person
reads by default. Pure functions of rows (no database, no settings, no printing), so every shape
is testable without a process.

Values come from the tables, which anyone may write (n8n inserts pending rows), so every string
is cleaned of control and bidirectional characters before it reaches a terminal, and bounded.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

TERMINAL = ("completed", "failed", "cancelled")
_ROW_COLUMNS = ("id", "status", "type", "media", "created", "duration")
_MEDIA_WIDTH = 32
_TEXT_WIDTH = 100
_SUMMARY_LINES = 12
_FILES_SHOWN = 3


def to_json(data: Any) -> str:
    """The JSON shape scripts parse (the seed's ``/status`` and ``/requests`` bodies)."""
    return json.dumps(data, indent=2, default=str)


def clean(value: Any, width: int | None = None) -> str:
    """One terminal-safe line: control, format (bidi overrides, zero-width) and line-breaking
    characters become a space or '?', runs of blanks one space, cut to ``width`` with '…'."""
    text = "" if value is None else str(value)
    out = []
    for ch in text[: (width or _TEXT_WIDTH) * 4]:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f\x85\u2028\u2029":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            out.append("?")
        else:
            out.append(ch)
    line = " ".join("".join(out).split())
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line


def media_name(row: dict[str, Any]) -> str:
    """What a person calls the media: the file name, or the URL's host and path."""
    if row.get("media_path"):
        return PurePosixPath(str(row["media_path"])).name or str(row["media_path"])
    url = row.get("media_url")
    if not url:
        return "-"
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return str(url)
    return f"{parts.hostname or ''}{parts.path}" or str(url)


def when(value: Any) -> str:
    """A stored timestamp in local time, to the second ('-' when unset)."""
    if not value:
        return "-"
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return clean(value, 25)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def span(seconds: float | None) -> str:
    """'850 ms', '12.3 s', '4 min 05 s', '1 h 02 min'."""
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        a, b = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
        return (b - a).total_seconds()
    except (TypeError, ValueError):
        return None


def duration(row: dict[str, Any]) -> str:
    """How long the request took: its processing time, else completed minus started."""
    if row.get("processing_time_ms") is not None:
        return span(row["processing_time_ms"] / 1000)
    if row.get("started_at") and row.get("completed_at"):
        return span(_seconds_between(row["started_at"], row["completed_at"]))
    return "-"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = []
    for cells in (header, *rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return lines


def requests_table(page: dict[str, Any]) -> str:
    """``requests`` for a person: one line per row and a footer that says how to page."""
    rows = [
        (
            str(r["request_id"]),
            clean(r.get("status"), 10),
            clean(r.get("media_type"), 8),
            clean(media_name(r), _MEDIA_WIDTH),
            when(r.get("created_at")),
            duration(r),
        )
        for r in page["requests"]
    ]
    total, offset, count = page["total"], page["offset"], page["count"]
    if not rows:
        return f"no requests here ({total} match in all; offset {offset})"
    lines = _table(_ROW_COLUMNS, rows)
    footer = f"{offset + 1}-{offset + count} of {total}"
    if offset + count < total:
        footer += f"; next page: --offset {offset + count}"
    lines.append(footer + ". One request: media-analysis status ID; JSON: --json")
    return "\n".join(lines)


def _cost(row: dict[str, Any]) -> str:
    costs = row.get("api_costs") or {}
    total = costs.get("total") if isinstance(costs, dict) else None
    if total is None:
        return "-"
    parts = [
        f"{clean(k, 20)} ${float(v):.4f}"
        for k, v in costs.items()
        if k not in ("total", "currency") and isinstance(v, int | float) and v
    ]
    return f"${float(total):.4f}" + (f" ({', '.join(parts)})" if parts else "")


def _result_line(result: dict[str, Any]) -> str:
    confidence = result.get("confidence_score")
    cost = result.get("cost_usd")
    facts = [clean(result.get("provider"), 12), clean(result.get("model_name"), 30)]
    if confidence is not None:
        facts.append(f"confidence {float(confidence):.2f}")
    if cost:
        facts.append(f"${float(cost):.4f}")
    head = f"  {clean(result.get('result_type'), 20):<20} {' '.join(f for f in facts if f)}"
    content = "" if result.get("result_type") == "summary" else clean(result.get("content"), 90)
    return head + (f"\n      {content}" if content else "")


def _summary_block(results: list[dict[str, Any]]) -> list[str]:
    """The summary's own lines (facts, then the prompt's answer), bounded."""
    summary = next((r for r in results if r.get("result_type") == "summary"), None)
    if not summary or not summary.get("content"):
        return []
    text = [clean(line, _TEXT_WIDTH) for line in str(summary["content"]).splitlines()]
    text = [line for line in text if line]
    shown = [f"  {line}" for line in text[:_SUMMARY_LINES]]
    if len(text) > _SUMMARY_LINES:
        shown.append(f"  … {len(text) - _SUMMARY_LINES} more lines (media-analysis report)")
    return ["summary", *shown]


def _file_lines(files: list[dict[str, Any]]) -> list[str]:
    """One line per file; a type with many files (frames) as a count and its first file."""
    lines = [f"files      {len(files)}"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for file in files:
        by_type.setdefault(str(file.get("file_type")), []).append(file)
    for file_type, group in by_type.items():
        shown = group if len(group) <= _FILES_SHOWN else group[:1]
        for file in shown:
            location = clean(file.get("url") or file.get("file_path"), 160)
            lines.append(f"  {clean(file_type, 14):<14} {location}")
        if len(group) > len(shown):
            lines.append(f"  {'':<14} … and {len(group) - 1} more {clean(file_type, 14)} files")
    return lines


def status_summary(row: dict[str, Any]) -> str:
    """``status`` for a person: the facts, the failure reason, one line per result and file."""
    media = media_name(row)
    where = row.get("media_path") or row.get("media_url") or ""
    lines = [
        f"request    {row['request_id']}",
        f"status     {clean(row.get('status'), 20)}",
        f"media      {clean(media, 60)} ({clean(row.get('media_type'), 10)})"
        + (f"  {clean(where, 120)}" if where and where != media else ""),
    ]
    if row.get("prompt"):
        lines.append(f"prompt     {clean(row['prompt'], _TEXT_WIDTH)}")
    lines.append(
        f"created    {when(row.get('created_at'))}   started {when(row.get('started_at'))}"
        f"   ended {when(row.get('completed_at'))}   took {duration(row)}"
    )
    lines.append(f"cost       {_cost(row)}")
    if row.get("status") in ("failed", "cancelled") and row.get("error_message"):
        lines.append(f"error      {clean(row['error_message'], 300)}")
        details = row.get("error_details")
        hints = details.get("hints") if isinstance(details, dict) else None
        hints = [hints] if isinstance(hints, str) else hints if isinstance(hints, list) else []
        lines.extend(f"hint       {clean(hint, 200)}" for hint in hints[:5])
    results = row.get("results") or []
    lines.append(f"results    {len(results)}")
    lines.extend(_result_line(r) for r in results)
    lines.extend(_summary_block(results))
    lines.extend(_file_lines(row.get("files") or []))
    lines.append(
        f"more       media-analysis report {row['request_id']} (HTML page); --json for JSON"
    )
    return "\n".join(lines)


def status_change(row: dict[str, Any]) -> str:
    """One ``submit --wait`` line when a row's status changes (the reason when it failed)."""
    status = clean(row.get("status"), 20)
    if status in ("failed", "cancelled") and row.get("error_message"):
        return f"{status}: {clean(row['error_message'], 300)}"
    if status == "completed":
        return f"completed in {duration(row)}"
    return status
