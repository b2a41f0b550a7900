"""Report sections with pictures: contact sheets, the scene timeline, document pages.

Each returns an HTML fragment ("" when there is nothing to show). Every scene has an anchor
``id="t=12.5"`` (its start time), so a link such as ``report.html#t=12.5`` opens at that scene,
as a transcript line links to the scene it falls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..media.document_info import split_pages
from .images import Embedded, ImageBudget
from .model import ReportData, Scene
from .text import anchor_time, clock, esc, human_duration, number, user

SHEET_WIDTH = 1280
SCENE_WIDTH = 320
PAGE_WIDTH = 640
#: Scenes shown with a picture (the rest are listed with their times).
MAX_SCENE_PICTURES = 200
#: Document text shown: per page, all pages together, and pages listed.
PAGE_CHARS = 6000
DOCUMENT_CHARS = 200_000
MAX_PAGES = 300
MAX_PAGE_PICTURES = 30


def scene_id(start: float) -> str:
    """The anchor of the scene starting at ``start`` seconds."""
    return f"t={anchor_time(start)}"


def _img(picture: Embedded, alt: str) -> str:
    if picture.url is None:
        return f'<p class="missing">Picture {esc(picture.reason, 120)}.</p>'

    return (
        f'<img src="{picture.url}" width="{picture.width}" height="{picture.height}" '
        f'alt="{esc(alt, 200)}">'
    )


def sheets_section(data: ReportData, images: ImageBudget) -> str:
    if not data.sheets:
        return ""
    total = len(data.sheets)
    figures = []
    for sheet, file_row in data.sheets:
        n = int(number(sheet.get("sheet_number")) or 0)
        frames = number(sheet.get("frame_count"))
        interval = number(sheet.get("frame_interval_seconds"))
        cols, rows = number(sheet.get("grid_cols")), number(sheet.get("grid_rows"))
        grid = f"{int(cols)}&times;{int(rows)}" if cols and rows else ""
        facts = [f"Sheet {n} of {total}"]
        facts += [f"{int(frames)} frames"] if frames is not None else []
        facts += [f"grid {grid}"] if grid else []
        facts += [f"one frame every {human_duration(interval)}"] if interval else []
        picture = _img(images.embed(file_row, SHEET_WIDTH), f"Contact sheet {n}")
        figures.append(
            f'<figure class="sheet" id="sheet-{n}">{picture}'
            f"<figcaption>{' · '.join(facts)}</figcaption></figure>"
        )
    return (
        '<section id="sheets"><h2>Contact sheets</h2>'
        '<p class="note">The frames a vision model was shown; each tile carries its time.</p>'
        + "".join(figures)
        + "</section>"
    )


def _scene_item(scene: Scene, images: ImageBudget | None) -> str:
    anchor = scene_id(scene.start)
    span = ""
    if scene.end is not None and scene.end > scene.start:
        span = f"&ndash;{clock(scene.end)} · {human_duration(scene.end - scene.start)}"
    kind = f" · {esc(scene.kind, 20)}" if scene.kind else ""
    picture = ""
    if images is not None:
        alt = f"Scene {scene.number} at {clock(scene.start)}"
        shown = _img(images.embed(scene.picture, SCENE_WIDTH), alt)
        if scene.picture is not None and scene.picture_time is not None:
            shown += f'<p class="note">sampled frame at {clock(scene.picture_time)}</p>'
        picture = f'<a class="thumb" href="#{anchor}">{shown}</a>'
    return (
        f'<li id="{anchor}">{picture}<p class="scene-head">'
        f'<a href="#{anchor}">Scene {scene.number} · <time>{clock(scene.start)}</time></a>'
        f"{span}{kind}</p></li>"
    )


def _timeline(data: ReportData) -> str:
    """A bar across the page, one link per scene as wide as the scene is long."""
    if data.duration is None or data.duration <= 0 or len(data.scenes) < 2:
        return ""
    parts = []
    for scene in data.scenes:
        end = scene.end if scene.end is not None else data.duration
        grow = max(end - scene.start, 0.0) / data.duration * 1000
        parts.append(
            f'<a href="#{scene_id(scene.start)}" style="flex-grow:{grow:.3f}" '
            f'title="Scene {scene.number} at {clock(scene.start)}"></a>'
        )
    return f'<nav class="timeline" aria-label="Scenes along the video">{"".join(parts)}</nav>'


def scenes_section(data: ReportData, images: ImageBudget) -> str:
    if not data.scenes:
        return ""
    items = [
        _scene_item(scene, images if i < MAX_SCENE_PICTURES else None)
        for i, scene in enumerate(data.scenes)
    ]
    more = ""
    if data.scenes_total > len(data.scenes):
        more = f'<p class="note">… and {data.scenes_total - len(data.scenes):,} more scenes.</p>'
    count = data.scenes_total
    return (
        '<section id="scenes"><h2>Scenes</h2>'
        f'<p class="note">{count} scene{"s" if count != 1 else ""}; '
        "each picture is taken just after the scene starts.</p>"
        f'{_timeline(data)}<ol class="scenes">{"".join(items)}</ol>{more}</section>'
    )


def _page_texts(data: ReportData, text: str) -> list[tuple[str, str, str]]:
    """(anchor, heading, text) per page with text (a text layer, or read by OCR), when the
    stored text splits exactly by the page character counts ``extract_document`` recorded;
    else one block."""
    document = data.facts.get("document")
    pages = document.get("pages") if isinstance(document, Mapping) else None
    split = split_pages(text, pages if isinstance(pages, list) else [])
    if split is None:
        return [("text", "Text", text)] if text.strip() else []
    return [(f"page-{n}", f"Page {n}", page) for n, page in split[:MAX_PAGES]]


def _read_text(file_row: Mapping[str, Any] | None, images: ImageBudget) -> str | None:
    if file_row is None:
        return None
    try:
        data = images.read(dict(file_row))
    except Exception:  # any reader may fail; the section says so
        return None
    if not isinstance(data, bytes | bytearray):
        return None
    return bytes(data[: DOCUMENT_CHARS * 4]).decode("utf-8", errors="replace")[:DOCUMENT_CHARS]


def pages_section(data: ReportData, images: ImageBudget) -> str:
    """The document's text page by page, and the rendered pictures of pages without text."""
    docs, previews = data.files.get("document", []), data.files.get("preview", [])
    if not docs and not previews:
        return ""
    text = _read_text(docs[0] if docs else None, images)
    parts = []
    if docs and text is None:
        parts.append('<p class="missing">The extracted text could not be read.</p>')
    for anchor, heading, page in _page_texts(data, text or ""):
        body = esc(page, PAGE_CHARS) if page.strip() else "<em>(no text)</em>"
        parts.append(
            f'<article class="page" id="{anchor}"><h3>{heading}</h3>'
            f'<pre dir="auto">{body}</pre></article>'
        )
    for i, preview in enumerate(previews[:MAX_PAGE_PICTURES]):
        name = user(preview.get("file_name"), 120)
        picture = _img(images.embed(preview, PAGE_WIDTH), f"Rendered page {i + 1}")
        parts.append(
            f'<figure class="page-image">{picture}<figcaption>{name}</figcaption></figure>'
        )
    if len(previews) > MAX_PAGE_PICTURES:
        left = len(previews) - MAX_PAGE_PICTURES
        parts.append(f'<p class="note">… and {left} more pictures.</p>')
    if text is not None and len(text) >= DOCUMENT_CHARS:
        parts.append(f'<p class="note">Text read up to {DOCUMENT_CHARS:,} characters.</p>')
    return f'<section id="pages"><h2>Pages</h2>{"".join(parts)}</section>'
