"""The request's HTML report as an artifact: rendered from the tables (``report/``) once the row
has ended, stored like every other file (``media_files.file_type='processed'``), and linked from
the run. ``media-analysis report ID`` renders the same page on demand."""

from __future__ import annotations

from typing import Any

from ..contracts import ArtifactRef
from ..db.rows import NewFile
from .rows import file_row
from .steps import STEP_OUTPUTS


def store_report(store: Any, files: Any, request_id: str) -> tuple[ArtifactRef, NewFile] | None:
    """Write and store the report of ``request_id``; its reference and ``media_files`` row (the
    caller writes the row), or None when the request is gone."""
    from ..report import REPORT_FILE_NAME, REPORT_FILE_TYPE, REPORT_MIME_TYPE, write_report

    row = store.get_request(request_id)
    if row is None:
        return None
    folder = STEP_OUTPUTS["complete_request"][0]
    path = files.step_dir(request_id, folder) / REPORT_FILE_NAME
    write_report(row, files.read_recorded, path)
    ref = files.stored(path, mime_type=REPORT_MIME_TYPE)
    return ref, file_row(ref, REPORT_FILE_TYPE)
