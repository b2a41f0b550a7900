"""A request's report: its row in, one self-contained HTML page out."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .images import ImageBudget, Reader
from .model import read_report_data
from .page import page
from .sections_media import pages_section, scenes_section, sheets_section
from .sections_text import (
    facts_section,
    failure_section,
    file_name,
    files_section,
    header,
    results_section,
    summary_section,
    transcript_section,
)
from .text import esc


def render_report(row: Mapping[str, Any], read: Reader) -> str:
    """The report of ``row`` (``Store.get_request``'s dict, children included) as HTML.

    ``read(file_row) -> bytes`` returns a stored file's contents (a local file or a bucket
    object); it is called only for pictures (sheets, scene thumbnails or frames, page images)
    and the extracted text of a document, never for the original. A file it cannot read is
    named in the page, not raised."""
    data = read_report_data(row)
    images = ImageBudget(read)
    sections = {
        "facts": facts_section(data),
        "failure": failure_section(data),
        "summary": summary_section(data),
        "sheets": sheets_section(data, images),
        "scenes": scenes_section(data, images),
        "transcript": transcript_section(data),
        "pages": pages_section(data, images),
        "results": results_section(data),
        "files": files_section(data),
    }
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    skipped = (
        f" {images.skipped} pictures were left out to keep this file small."
        if images.skipped
        else ""
    )
    footer = f"Made {made} by media-analysis from the request's rows.{skipped}"
    title = f"{esc(file_name(data), 120)} · media analysis report"
    return page(title, header(data), sections, footer)


def write_report(row: Mapping[str, Any], read: Reader, path: str | Path) -> Path:
    """Render the report and write it to ``path`` (UTF-8) in one step: the file is complete or
    absent, never half written, even when a reader opens it meanwhile. Its mode follows the
    umask, as every other file the pipeline writes."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_report(row, read)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
