"""Report sections of text: header facts, failure, summary, transcript, results, files.

Each returns an HTML fragment ("" when there is nothing to show); every value is escaped and
bounded here (``text.py``). Transcript lines have anchors ``id="say-t=12.5"`` and link to the
scene they fall in (``#t=…``, ``sections_media.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .model import ReportData, Row, as_list, as_map, safe_source, sorted_results
from .sections_media import scene_id
from .text import (
    anchor_time,
    clock,
    esc,
    human_bytes,
    human_duration,
    money,
    number,
    percent,
    user,
    when,
)
from .transcript import transcript_lines

#: Transcript lines shown (the rest are counted).
MAX_TRANSCRIPT_LINES = 3000
MAX_TRANSCRIPTS = 3
LINE_CHARS = 1000
#: Per result: characters of its text and of its JSON.
RESULT_CHARS = 4000
JSON_CHARS = 6000
MAX_RESULTS = 200
MAX_FILES_LISTED = 100
STATUS_WORDS = {
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "processing": "Processing",
    "pending": "Pending",
}


def file_name(data: ReportData) -> str:
    """What a person calls the request: the stored original's name, else its source."""
    originals = data.files.get("original", [])
    name = originals[0].get("file_name") if originals else None
    return str(name) if isinstance(name, str) and name else safe_source(data.row) or "request"


def header(data: ReportData) -> str:
    row = data.row
    status = str(row.get("status") or "unknown")
    word = STATUS_WORDS.get(status, status)
    sub = [esc(row.get("media_type"), 20)]
    sub += [human_duration(data.duration)] if data.duration is not None else []
    video = data.facts.get("video")
    if isinstance(video, Mapping) and number(video.get("display_width")):
        w, h = (
            int(number(video["display_width"]) or 0),
            int(number(video.get("display_height")) or 0),
        )
        sub.append(f"{w}&times;{h} {esc(video.get('video_codec'), 20)}")
    if pages := _page_count(data):
        sub.append(f"{pages:,} page{'s' if pages != 1 else ''}")
    originals = data.files.get("original", [])
    if originals:
        sub.append(human_bytes(originals[0].get("file_size_bytes")))
    return (
        '<header class="top"><p class="kicker">Media analysis report '
        f'<span class="badge {esc(status, 20)}">{esc(word, 30)}</span></p>'
        f"<h1>{user(file_name(data), 300)}</h1>"
        f'<p class="sub">{" · ".join(sub)}</p></header>'
    )


def _cost(row: Row) -> str:
    """Total cost, and per provider when more than one was paid or called."""
    costs = as_map(row.get("api_costs"))
    per = [
        (k, v)
        for k, v in list(costs.items())[:50]
        if k not in {"total", "currency"} and number(v) is not None
    ]
    split = ", ".join(f"{esc(k, 30)} {money(v)}" for k, v in per[:12])
    return money(costs.get("total")) + (f" ({split})" if split else "")


def _page_count(data: ReportData) -> int | None:
    count = number(as_map(data.facts.get("document")).get("page_count"))
    return int(count) if count is not None and count > 0 else None


def _facts_rows(data: ReportData) -> list[tuple[str, str]]:
    row = data.row
    elapsed = number(row.get("processing_time_ms"))
    name, source = file_name(data), safe_source(row)
    rows = [("File", user(name, 300))]
    if source and source != name:
        rows.append(("Source", user(source, 400)))
    rows.append(("Type", esc(row.get("media_type"), 20)))
    if data.duration is not None:
        rows.append(("Duration", human_duration(data.duration)))
    if pages := _page_count(data):
        rows.append(("Pages", f"{pages:,}"))
    rows += [
        ("Status", esc(STATUS_WORDS.get(str(row.get("status")), row.get("status")), 30)),
        ("Created", when(row.get("created_at"))),
        ("Started", when(row.get("started_at"))),
        ("Completed", when(row.get("completed_at"))),
        ("Processing time", human_duration(elapsed / 1000) if elapsed is not None else "—"),
        ("Cost", _cost(row)),
        ("Confidence", percent(row.get("confidence_score"))),
    ]
    if row.get("prompt"):
        rows.append(("Prompt", user(row.get("prompt"), 2000)))
    rows.append(("Request", f"<code>{esc(row.get('request_id'), 64)}</code>"))
    return rows


def facts_section(data: ReportData) -> str:
    items = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in _facts_rows(data))
    return f'<section id="facts"><h2>Request</h2><dl class="facts">{items}</dl></section>'


def failure_section(data: ReportData) -> str:
    row = data.row
    details = as_map(row.get("error_details"))
    message = row.get("error_message") or details.get("message")
    if row.get("status") != "failed" and not message:
        return ""
    step = details.get("step")
    where = f" in step <code>{esc(step, 80)}</code>" if step else ""
    hints = as_list(details.get("hints"))
    fixes = "".join(f'<li dir="auto">{esc(h, 1000)}</li>' for h in hints[:10] if h)
    return (
        f'<section id="failure" class="failure"><h2>Why it failed</h2>'
        f'<p>The request failed{where}:</p><p class="message" dir="auto">'
        f"{esc(message or 'no reason was recorded', 2000)}</p>"
        + (f"<p>What to do:</p><ul>{fixes}</ul>" if fixes else "")
        + "</section>"
    )


def _blocks(text: str) -> str:
    """Paragraphs, one per line; runs of lines starting with "- " become a list."""
    out: list[str] = []
    items: list[str] = []
    for line in text.splitlines()[:400]:
        stripped = line.strip()
        if stripped.startswith(("- ", "• ", "* ")):
            items.append(f'<li dir="auto">{esc(stripped[2:], 2000)}</li>')
            continue
        if items:
            out.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if stripped:
            out.append(f'<p dir="auto">{esc(stripped, 4000)}</p>')
    if items:
        out.append(f"<ul>{''.join(items)}</ul>")
    return "".join(out)


def summary_section(data: ReportData) -> str:
    summaries = [r for r in data.of_type("summary") if r.get("content")]
    if not summaries:
        return ""
    text = str(summaries[0].get("content"))[:20_000]
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<div class="summary">{_blocks(text)}</div></section>'
    )


def _scene_of(data: ReportData, start: float) -> str:
    scene = None
    for s in data.scenes:
        if s.start <= start + 1e-6:
            scene = s
        else:
            break
    if scene is None:
        return ""
    return f' <a class="in-scene" href="#{scene_id(scene.start)}">scene {scene.number}</a>'


def _transcript_items(data: ReportData, result: Row) -> tuple[list[str], int]:
    lines = transcript_lines(result.get("content"), result.get("content_json"))
    items: list[str] = []
    seen: set[str] = set()
    for line in lines[:MAX_TRANSCRIPT_LINES]:
        who = f'<span class="speaker">{esc(line.speaker, 30)}:</span> ' if line.speaker else ""
        text = f'<span dir="auto">{who}{esc(line.text, LINE_CHARS)}</span>'
        if line.start is None:
            items.append(f'<li><span class="time">—</span>{text}</li>')
            continue
        anchor = f"say-t={anchor_time(line.start)}"
        anchor = anchor if anchor not in seen else f"{anchor}-{len(seen)}"
        seen.add(anchor)
        items.append(
            f'<li id="{anchor}"><a class="time" href="#{anchor}"><time>{clock(line.start)}</time>'
            f"</a><p>{text}{_scene_of(data, line.start)}</p></li>"
        )
    return items, len(lines)


def transcript_section(data: ReportData) -> str:
    results = data.of_type("transcription")
    if not results:
        return ""
    parts = []
    for result in results[:MAX_TRANSCRIPTS]:
        items, total = _transcript_items(data, result)
        by = f"{esc(result.get('provider'), 30)} {esc(result.get('model_name'), 100)}".strip()
        head = f'<p class="note">{total} line{"s" if total != 1 else ""}, by {by}.</p>'
        if not items:
            parts.append(f'{head}<p class="note">No speech was heard.</p>')
            continue
        more = total - len(items)
        tail = f'<p class="note">… and {more:,} more lines.</p>' if more > 0 else ""
        parts.append(f'{head}<ol class="transcript">{"".join(items)}</ol>{tail}')
    return f'<section id="transcript"><h2>Transcript</h2>{"".join(parts)}</section>'


def _json(value: Any) -> str:
    try:
        text = json.dumps(value, indent=1, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return esc(text[: JSON_CHARS * 2], JSON_CHARS)


def _result(r: Row, i: int, shown_in: str | None) -> str:
    meta = [
        ("Provider", esc(r.get("provider"), 50)),
        ("Model", esc(r.get("model_name") or "—", 100)),
        ("Confidence", percent(r.get("confidence_score"))),
        ("Cost", money(r.get("cost_usd"))),
    ]
    ms = number(r.get("processing_time_ms"))
    meta += [("Time", human_duration(ms / 1000))] if ms is not None else []
    tokens = number(r.get("token_count"))
    meta += [("Tokens", f"{int(tokens):,}")] if tokens is not None else []
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in meta)
    content = r.get("content")
    body = f'<p class="content" dir="auto">{esc(content, RESULT_CHARS)}</p>' if content else ""
    if content and shown_in:
        body = f'<p class="note">Shown under <a href="#{shown_in.lower()}">{shown_in}</a>.</p>'
    data = r.get("content_json")
    raw = f"<details><summary>Data</summary><pre>{_json(data)}</pre></details>" if data else ""
    kind = esc(str(r.get("result_type") or "result").replace("_", " "), 50)
    return (
        f'<article class="result" id="result-{i + 1}"><h3>{kind}</h3>'
        f'<dl class="meta">{dl}</dl>{body}{raw}</article>'
    )


def _failed_attempts(data: ReportData) -> str:
    """Provider calls that failed or were skipped (the chain then tried the next provider)."""
    failed = [
        a
        for a in as_list(data.row.get("provider_chain"))[:MAX_RESULTS]
        if isinstance(a, Mapping) and a.get("status") not in (None, "success")
    ]
    if not failed:
        return ""
    items = "".join(
        f"<li>{esc(a.get('provider'), 30)} · {esc(a.get('result_type'), 50)}: "
        f'{esc(a.get("status"), 20)} <span dir="auto">{esc(a.get("error"), 600)}</span></li>'
        for a in failed
    )
    return f'<h3 class="plain">Calls that did not give a result</h3><ul>{items}</ul>'


def results_section(data: ReportData) -> str:
    if not data.results and not _failed_attempts(data):
        return ""
    shown = sorted_results(data.results)[:MAX_RESULTS]
    elsewhere = {id(r): "Transcript" for r in data.of_type("transcription")[:MAX_TRANSCRIPTS]}
    summaries = [r for r in data.of_type("summary") if r.get("content")]
    elsewhere.update({id(r): "Summary" for r in summaries[:1]})
    cards = "".join(_result(r, i, elsewhere.get(id(r))) for i, r in enumerate(shown))
    more = len(data.results) - len(shown)
    tail = f'<p class="note">… and {more} more results.</p>' if more > 0 else ""
    return f'<section id="results"><h2>Results</h2>{cards}{tail}{_failed_attempts(data)}</section>'


def files_section(data: ReportData) -> str:
    rows = [f for group in data.files.values() for f in group]
    if not rows:
        return ""
    counts = ", ".join(f"{len(v)} {esc(k, 30)}" for k, v in sorted(data.files.items()))
    listed = [f for f in rows if f.get("file_type") != "frame"][:MAX_FILES_LISTED]
    items = "".join(
        f"<li>{esc(f.get('file_type'), 30)}: {user(f.get('file_name'), 200)} "
        f'<span class="note">{human_bytes(f.get("file_size_bytes"))}</span></li>'
        for f in listed
    )
    return (
        f'<section id="files"><h2>Files</h2><p class="note">{counts}.</p>'
        f'<ul class="files">{items}</ul></section>'
    )
