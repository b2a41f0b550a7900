"""Step views: what a step's output metadata shows a person, as Markdown.

Dagster shows a ``MetadataValue.md`` entry as rendered Markdown on the run page, so a person
sees the contact sheets, one picture per scene, the first lines of the transcript and the summary
without opening "[Show JSON]". Pictures are base64 JPEGs inside the Markdown, and Dagster's event
log stores them with the event, so each stays under ``STRIP_MAX_BYTES``/``PREVIEW_MAX_BYTES``
and a view shows a bounded number of them (``docs/architecture.md``). Every value that came from
outside is escaped (``report.text.md``), so a transcript saying ``<script>`` prints as text.

Pure rendering: no Dagster import, so ops, the CLI and tests call the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..contracts import ContactSheets
from ..media.contact_sheets import thumbnail_data_url
from ..media.scene_strip import (
    MAX_STRIP_TILES,
    STRIP_MAX_BYTES,
    SceneThumbnail,
    pick_evenly,
    strip_data_url,
)
from ..report.text import clock, md, one_line
from ..report.transcript import result_fields, transcript_lines

#: Sheets shown inline in one view (the rest are named): each is up to 60 KB in the event log.
MAX_SHEETS_SHOWN = 4
#: Transcript lines shown in a step view (the report shows them all).
TRANSCRIPT_LINES = 8
#: Scene start times listed as text under the strip.
MAX_TIMES_LISTED = 60
#: Characters of summary shown.
SUMMARY_LIMIT = 3000


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sheets_markdown(sheets: ContactSheets) -> str:
    """Each contact sheet inline, wide enough to read its timestamps (at most
    MAX_SHEETS_SHOWN; the others are named)."""
    total = len(sheets.sheets)
    shown = [
        f"**Sheet {s.sheet_number}/{total}** {md(s.artifact.name, 200)}\n\n"
        f"![sheet {s.sheet_number}]({thumbnail_data_url(s.artifact.path)})"
        for s in sheets.sheets[:MAX_SHEETS_SHOWN]
    ]
    rest = sheets.sheets[MAX_SHEETS_SHOWN:]
    if rest:
        names = ", ".join(md(s.artifact.name, 80) for s in rest[:20])
        more = f" and {len(rest) - 20} more" if len(rest) > 20 else ""
        shown.append(f"{_plural(len(rest), 'more sheet')} in the report: {names}{more}")
    return "\n\n".join(shown)


def scene_strip_markdown(
    thumbnails: Sequence[SceneThumbnail],
    scene_count: int | None = None,
    *,
    max_bytes: int = STRIP_MAX_BYTES,
) -> str:
    """One small frame per scene with its start time, as one strip picture (at most
    MAX_STRIP_TILES tiles, evenly chosen), then the start times as text.

    ``thumbnails`` come from ``media.scene_strip.scene_thumbnails`` called with the scene
    starts (0 and every cut); ``scene_count`` is the number of scenes when not all have a
    thumbnail."""
    count = max(scene_count or 0, len(thumbnails))
    if not thumbnails:
        return f"**{_plural(count, 'scene')}**, no picture could be taken."
    tiles = [thumbnails[i] for i in pick_evenly(len(thumbnails), MAX_STRIP_TILES)]
    labels = [f"{t.index + 1} · {clock(t.time)}" for t in tiles]
    url = strip_data_url(tiles, labels, max_bytes=max_bytes)
    shown = "" if len(tiles) == count else f" (pictures of {len(tiles)})"
    times = " · ".join(f"{t.index + 1}: {clock(t.time)}" for t in thumbnails[:MAX_TIMES_LISTED])
    more = (
        f" … and {len(thumbnails) - MAX_TIMES_LISTED} more"
        if len(thumbnails) > MAX_TIMES_LISTED
        else ""
    )
    return f"**{_plural(count, 'scene')}**{shown}\n\n![scenes]({url})\n\nStarts: {times}{more}"


def transcript_markdown(result: Any, max_lines: int = TRANSCRIPT_LINES) -> str:
    """The first ``max_lines`` lines with their times (``mm:ss``) and "… N more lines".

    ``result`` is a ``ProviderResult`` or a ``media_analysis_results`` row of any provider."""
    content, data = result_fields(result)
    lines = transcript_lines(content, data)
    if not lines:
        return "**Transcript**: no speech was heard."
    timed = [line for line in lines if line.start is not None]
    head = f"**Transcript**, {_plural(len(lines), 'line')}"
    if not timed:
        return f"{head} (no timings)\n\n{md(lines[0].text, 600)}"
    rows = []
    for line in timed[:max_lines]:
        who = f"{md(line.speaker, 20)}: " if line.speaker else ""
        rows.append(f"- `{clock(line.start or 0.0)}` {who}{md(line.text, 300)}")
    left = len(lines) - len(rows)
    if left > 0:
        rows.append(f"- … {_plural(left, 'more line')}")
    return head + "\n\n" + "\n".join(rows)


def summary_markdown(text: str | None, limit: int = SUMMARY_LIMIT) -> str:
    """The summary as a person reads it: its paragraphs, its "- " lines as a list; cut at a
    word with "…" past ``limit`` characters."""
    if not text or not text.strip():
        return "**Summary**: none was written."
    blocks: list[str] = []
    used = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if used >= limit:
            blocks.append("…")
            break
        room = limit - used
        item = line[2:] if line.startswith(("- ", "* ", "• ")) else None
        body = md(item if item is not None else line, room)
        used += len(one_line(item if item is not None else line, room))
        blocks.append(f"- {body}" if item is not None else f"\n{body}\n")
    return "**Summary**\n\n" + "\n".join(blocks).strip()
