"""One HTML report per request: what a person looks at to see what the pipeline found.

``render_report(row, read)`` turns ``Store.get_request``'s dict (the row with its results,
files and contact sheets) into one self-contained HTML page: header facts, the failure reason,
the summary, contact sheets, a scene timeline with a picture per scene (anchors ``#t=12.5``),
the transcript with times (anchors ``#say-t=12.5``), every result with provider, model,
confidence and cost, a document's pages, and the stored files. ``read(file_row) -> bytes``
fetches a stored picture or text, so local files and bucket objects both work; pictures are
embedded as reduced JPEG data URLs, so the page opens alike from object storage and from
``media-analysis report ID``. No JavaScript, no template engine, no Dagster import.

The stored report is a ``media_files`` row of ``file_type`` ``REPORT_FILE_TYPE`` and MIME type
``REPORT_MIME_TYPE``; scene pictures, when stored, are ``THUMBNAIL_FILE_TYPE`` rows whose
``sequence_order`` is the scene's index from 0 (``media/scene_strip.py``).

Parts: ``model`` (what to show, from the row), ``text`` (cleaning, bounding, escaping,
formatting), ``transcript`` (timed lines of any provider), ``images`` (data URLs within a
budget), ``sections_text`` and ``sections_media`` (the fragments), ``page`` (style and layout),
``render``.
"""

from .render import render_report, write_report

REPORT_FILE_TYPE = "processed"
REPORT_MIME_TYPE = "text/html"
REPORT_FILE_NAME = "report.html"
THUMBNAIL_FILE_TYPE = "thumbnail"

__all__ = [
    "REPORT_FILE_NAME",
    "REPORT_FILE_TYPE",
    "REPORT_MIME_TYPE",
    "THUMBNAIL_FILE_TYPE",
    "render_report",
    "write_report",
]
