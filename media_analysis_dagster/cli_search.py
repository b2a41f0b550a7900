"""``media-analysis search``: find the moment in everything analysed.

``add_search_parser`` adds the command's grammar to the CLI's subparsers; ``run_search`` runs it
with a ``Store`` and the artifact store the caller opened from the settings (``cli.py`` is the
only reader of the settings). A hit prints its request, media name, kind, time (``mm:ss``) or
page, the snippet with the matched words between « », and a link to the moment: the place in
the request's HTML report (``…/report.html#say-t=12.5`` for a transcript line, ``#t=…`` for a
scene, ``#page-3``: the report ``complete_request`` stored, else ``report-<id>.html``, which
``media-analysis report`` writes) and, for a video, the frame nearest that time (its path, or
a presigned URL when artifacts are in a bucket).

Any query is answered with hits or one sentence: an empty query, 10,000 characters, quotes,
operators, SQL, NUL or undecodable bytes never reach the database as an error
(``db/search_query.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from .cli_output import clean
from .db.segments import KINDS

SEARCH_MEDIA_TYPES = ("video", "audio", "document")
MAX_HITS = 100
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_URL_SECONDS = 3600
_SNIPPET_WIDTH = 160
_SEARCH_OBJECTS = ("media_analysis_search", "media_analysis_segments", "media_analysis_ts_config")


def since(value: str) -> datetime:
    """``--since``: an age (``90m``, ``12h``, ``7d``, ``2w``) or an ISO date or time (UTC)."""
    if match := _SPAN.match(value):
        amount, unit = float(match.group(1)), match.group(2).lower()
        try:
            return datetime.now(UTC) - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            return datetime(1970, 1, 1, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an age like 7d or 12h, nor a date like 2026-11-30: {value!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def hits_limit(value: str) -> int:
    """``--limit``: at least 1; more than ``MAX_HITS`` asks for all there are (``MAX_HITS``)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return min(number, MAX_HITS)


def add_search_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``search`` to the CLI's subparsers (``args.command == "search"``)."""
    search = sub.add_parser(
        "search",
        help="find words in everything analysed: the request, the moment, the page",
        description="Search transcripts, on-screen and page text, scene descriptions, "
        "summaries and answers. Words must all match (in any inflected form); "
        '"a phrase" matches as typed, -word excludes, "or" between words allows either.',
    )
    search.set_defaults(command="search")
    search.add_argument("query", nargs="?", default="", help='what to find, e.g. "refund policy"')
    search.add_argument("--kind", choices=KINDS, help="only this kind of text")
    search.add_argument("--media-type", choices=SEARCH_MEDIA_TYPES, help="only this media type")
    search.add_argument(
        "--since", type=since, help="only requests made since: an age (7d, 12h) or a date"
    )
    search.add_argument(
        "--limit", type=hits_limit, default=20, help=f"at most this many hits, 1-{MAX_HITS} (20)"
    )
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    search.add_argument(
        "--reindex",
        action="store_true",
        help="first rebuild the search index from the stored results (rows made before "
        "search existed); safe to run again",
    )
    return search


def clock(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from one hour (as the report shows times)."""
    total = max(0, math.floor(seconds + 1e-6))
    hours, rest = divmod(total, 3600)
    return (
        f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
        if hours
        else f"{rest // 60:02d}:{rest % 60:02d}"
    )


def _place(hit: dict[str, Any]) -> str:
    if hit["start_s"] is not None:
        end = hit["end_s"]
        return clock(hit["start_s"]) + (f"-{clock(end)}" if end and end > hit["start_s"] else "")
    return f"page {hit['page']}" if hit["page"] is not None else "-"


def _file_url(artifacts: Any, file: dict[str, Any]) -> str | None:
    """A frame as this machine reaches it: its path, or a presigned URL in a bucket."""
    location = file.get("storage_location") or "local"
    if location == "local":
        return str(Path(file["file_path"]).absolute())
    if artifacts is None:
        return None
    try:
        return str(artifacts.presign(file["file_path"], _URL_SECONDS))
    except Exception:  # a link is extra: a bucket that refuses to sign leaves it out
        return None


def add_links(store: Any, hits: list[dict[str, Any]], artifacts: Any = None) -> None:
    """Each hit's ``time``, report ``link`` and, for a timed video hit, nearest ``frame``.

    The link is the request's stored report (a ``file://`` URL, or a presigned one in a bucket)
    at the hit's anchor; a request without a stored report (failed, or made before reports were
    stored) links to ``report-<id>.html``, the file ``media-analysis report`` writes."""
    timed = {h["request_id"] for h in hits if h["start_s"] is not None}
    frames = store.frame_times(timed) if timed else {}
    reports = store.report_files({h["request_id"] for h in hits}) if hits else {}
    for hit in hits:
        hit["time"] = clock(hit["start_s"]) if hit["start_s"] is not None else None
        fragment = f"#{hit['anchor']}" if hit["anchor"] else ""
        stored = reports.get(hit["request_id"])
        report = _file_url(artifacts, stored) if stored else None
        if report and report.startswith("/"):
            report = Path(report).as_uri()
        hit["link"] = (report or f"report-{hit['request_id']}.html") + fragment
        hit["frame"] = None
        known = frames.get(hit["request_id"]) or []
        if hit["start_s"] is not None and known:
            at = bisect_left([t for t, _ in known], hit["start_s"])
            near = min(known[max(at - 1, 0) : at + 1], key=lambda f: abs(f[0] - hit["start_s"]))
            hit["frame"] = _file_url(artifacts, near[1])


def _document_reader(artifacts: Any) -> Any:
    def read(file: dict[str, Any]) -> str | None:
        try:
            if (file.get("storage_location") or "local") == "local":
                return Path(file["file_path"]).read_text(encoding="utf-8", errors="replace")
            if artifacts is None:
                return None
            with artifacts.open(file["file_path"]) as handle:
                return bytes(handle.read()).decode("utf-8", errors="replace")
        except Exception:  # a file removed, a bucket error: skip this one, index the rest
            return None

    return read


def _readable(hits: list[dict[str, Any]], query: str) -> str:
    if not hits:
        return f"No hits for {clean(query, 60)!r}."
    lines = []
    for n, hit in enumerate(hits, start=1):
        lines.append(
            f"{n}. {clean(hit['media_name'], 48)}  {hit['kind']}  {_place(hit)}  "
            f"(request {hit['request_id']})"
        )
        lines.append(f"   {clean(hit['snippet'], _SNIPPET_WIDTH)}")
        lines.append(f"   {hit['link']}" + (f"  frame: {hit['frame']}" if hit["frame"] else ""))
    note = f"{len(hits)} hit(s). A link opens the request's stored report at that moment."
    if any(h["link"].startswith("report-") for h in hits):
        note += " A report-REQUEST_ID.html link: `media-analysis report REQUEST_ID` writes it."
    lines.append(note)
    return "\n".join(lines)


def run_search(
    args: argparse.Namespace,
    store: Any,
    *,
    artifacts: Any = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``search`` (``--reindex`` first when asked); the exit status (2: nothing to search,
    1: the database has no search tables yet)."""
    from sqlalchemy.exc import DBAPIError

    from .db.schema import ensure_embedded_tables

    out, err = out or sys.stdout, err or sys.stderr
    ensure_embedded_tables(store.engine)  # an embedded database made before search gets them
    try:
        return _search(args, store, artifacts, out, err)
    except DBAPIError as exc:
        if not any(name in str(exc) for name in _SEARCH_OBJECTS):
            raise
        print(
            "media-analysis: error: this database has no search index yet; run "
            "`media-analysis db init` (it adds schema/003_search.sql), then "
            "`media-analysis search --reindex`",
            file=err,
        )
        return 1


def _search(args: argparse.Namespace, store: Any, artifacts: Any, out: TextIO, err: TextIO) -> int:
    from .db.search_query import clean_query

    if args.reindex:
        counts = store.reindex(read_document=_document_reader(artifacts))
        print(
            f"Reindexed {counts['results']} result(s) and {counts['documents']} document(s): "
            f"{counts['segments']} segment(s).",
            file=err if args.json else out,
        )
    query = clean_query(args.query)
    if not query:
        if args.reindex:
            return 0
        print(
            "media-analysis: error: nothing to search for; give a word or a phrase, "
            'e.g. media-analysis search "refund policy"',
            file=err,
        )
        return 2
    hits = store.search(
        query, limit=args.limit, kind=args.kind, media_type=args.media_type, since=args.since
    )
    add_links(store, hits, artifacts)
    print(
        json.dumps(hits, indent=2, default=str) if args.json else _readable(hits, query), file=out
    )
    return 0
