"""The command line's grammar: every command, option and its help, and the checks argparse can
make before anything is opened (bounds, URL shape, UUIDs).

Kept apart from ``cli.py`` (which reads the settings and runs the commands) so the whole grammar
reads in one place and ``--help`` needs no database, no settings and no Dagster import.
"""

from __future__ import annotations

import argparse
import uuid
from typing import NoReturn

from . import __version__
from .cli_search import add_search_parser
from .db.constants import FILE_TYPES, MEDIA_TYPES, STATUSES
from .sheets import MAX_FRAMES, MAX_GRID

MAX_LIMIT = 1000
"""The most rows ``requests`` prints at once (page with --offset)."""

DESCRIPTION = """\
media-analysis: create the tables, submit requests and follow them, list and inspect requests,
search everything analysed, write a request's HTML report, fetch its files, and make contact
sheets of a video.

Settings come from the environment (README, "Configuration"); with none set, the tables are a
SQLite file and files live under ./.media_analysis, as for `make demo`."""

EPILOG = """\
examples:
  media-analysis db init
  media-analysis submit --media-path .media_analysis/inbox/clip.mp4 --wait
  media-analysis requests --status completed
  media-analysis status REQUEST_ID
  media-analysis search "refund policy" --kind transcript
  media-analysis report REQUEST_ID --out report.html

Installed by `make demo` into .venv: call it as .venv/bin/media-analysis, or run
`source .venv/bin/activate` once per shell. Errors are one line on stderr; the exit status is 2
for a refused argument and 1 for any other failure."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error that points at --help (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def request_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a request id (UUID): {value!r}") from None


def non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return number


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return number


def frames(value: str) -> int:
    """``--frames``: the bounds of the run config's ``frame_count``."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= number <= MAX_FRAMES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_FRAMES}, got {number}")
    return number


def grid(value: str) -> tuple[int, int]:
    """``--grid COLSxROWS``: the bounds of the run config's ``grid_cols``/``grid_rows``."""
    cols, sep, rows = value.strip().lower().partition("x")
    if not sep or not cols.isdigit() or not rows.isdigit():
        raise argparse.ArgumentTypeError(f"grid must look like 2x3, got {value!r}")
    if not (1 <= int(cols) <= MAX_GRID and 1 <= int(rows) <= MAX_GRID):
        raise argparse.ArgumentTypeError(
            f"columns and rows must each be between 1 and {MAX_GRID}, got {value!r}"
        )
    return int(cols), int(rows)


def media_path(value: str) -> str:
    """``--media-path``: a non-blank path (an empty one would resolve to the current folder)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def media_url(value: str) -> str:
    """``--media-url``: an absolute http(s) URL, or an object in the bucket's inbox (the
    pipeline checks the inbox prefix), surrounding blanks removed."""
    from urllib.parse import urlsplit

    url = value.strip()
    if not url:
        raise argparse.ArgumentTypeError("must not be empty")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced "[" in the host or a bad port
        host = None
        parts = urlsplit("")
    if parts.scheme.lower() not in {"http", "https", "s3", "gs"} or not host:
        raise argparse.ArgumentTypeError(
            f"must be an http(s) URL with a host, or an s3:// or gs:// URL of the bucket's "
            f"inbox, got {value!r}"
        )
    return url


def limit(value: str) -> int:
    number = non_negative(value)
    if number > MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_LIMIT}, got {number}")
    return number


def _json_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help=f"print {what} as JSON (the shape scripts parse) instead of readable text",
    )


def _db(sub: argparse._SubParsersAction[Parser]) -> None:
    db = sub.add_parser("db", help="database commands (init)", description="Database commands.")
    db.set_defaults(command="db", parser=db)
    db_sub = db.add_subparsers(dest="db_command", metavar="{init}", parser_class=Parser)
    db_sub.add_parser(
        "init",
        help="create the tables, or add what a newer release needs (safe to run twice)",
        description="Create the tables (PostgreSQL: schema/*.sql in order; SQLite: from the "
        "models). Safe to run twice; run it again after an upgrade.",
    ).set_defaults(command="db init")


def _submit(sub: argparse._SubParsersAction[Parser]) -> None:
    submit = sub.add_parser(
        "submit",
        help="insert a pending request (prints its id); --wait follows it to the end",
        description="Check a request and insert it as a pending row, which the "
        "pending_requests_sensor turns into a run (the Dagster daemon must be running, e.g. "
        "`make dev`). Nothing is inserted when a value is refused.",
    )
    submit.set_defaults(command="submit")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--media-path",
        type=media_path,
        help="a local file inside MEDIA_ANALYSIS_MEDIA_ROOTS (default: .media_analysis/inbox); "
        "a relative path is looked up in the current folder, then in each root",
    )
    source.add_argument("--media-url", type=media_url, help="an http(s) URL the pipeline downloads")
    submit.add_argument(
        "--type",
        choices=MEDIA_TYPES,
        default="auto",
        help="media type; auto (default) decides from the file's bytes",
    )
    submit.add_argument(
        "--prompt", help='the question the analysis answers, e.g. "What happens in this video?"'
    )
    submit.add_argument(
        "--metadata",
        help="user_metadata as a JSON object; its option keys (frame_count 1-200, grid_cols and "
        'grid_rows 1-10, scene_aware, callback_url, ...) are checked now, e.g. \'{"frame_count": '
        "12}'",
    )
    submit.add_argument(
        "--providers", help="comma-separated providers to use, e.g. internal,openai"
    )
    submit.add_argument("--created-by", help="who asks (free text, stored in created_by)")
    submit.add_argument(
        "--wait",
        action="store_true",
        help="wait for the request to end, printing status changes and the run's progress; "
        "exit 0 when it completed, 1 otherwise",
    )
    submit.add_argument(
        "--timeout",
        type=seconds,
        help="with --wait: stop waiting after this many seconds (exit 1; the request goes on)",
    )


def _reading(sub: argparse._SubParsersAction[Parser]) -> None:
    status = sub.add_parser(
        "status",
        help="one request: status, times, results and files",
        description="One request with its results, files and contact sheets.",
    )
    status.set_defaults(command="status")
    status.add_argument("request_id", type=request_id, help="the request's id (a UUID)")
    status.add_argument(
        "--expires",
        type=non_negative,
        default=3600,
        help="seconds a presigned URL of a file in a bucket stays valid (default 3600)",
    )
    _json_flag(status, "the row with its results, files and sheets")

    reqs = sub.add_parser(
        "requests",
        help="list requests, newest first",
        description="List requests, newest first, as a table (or JSON with --json).",
    )
    reqs.set_defaults(command="requests")
    reqs.add_argument("--status", choices=STATUSES, help="only requests with this status")
    reqs.add_argument("--media-type", choices=MEDIA_TYPES, help="only this media type")
    reqs.add_argument(
        "--limit", type=limit, default=100, help=f"at most this many rows, 0-{MAX_LIMIT} (100)"
    )
    reqs.add_argument(
        "--offset", type=non_negative, default=0, help="skip this many rows first (paging)"
    )
    _json_flag(reqs, "the page")

    report = sub.add_parser(
        "report",
        help="write a request's HTML report (sheets, scenes, transcript, results)",
        description="Render one self-contained HTML page of a request from the tables.",
    )
    report.set_defaults(command="report")
    report.add_argument("request_id", type=request_id, help="the request's id (a UUID)")
    report.add_argument(
        "--out", help="the HTML file to write (default: report-REQUEST_ID.html here)"
    )
    report.add_argument("--open", action="store_true", help="open it in a web browser")

    fetch = sub.add_parser(
        "fetch",
        help="download a request's files (from its bucket, or copies of local ones)",
        description="Download a request's files into DIR/<file_type>/.",
    )
    fetch.set_defaults(command="fetch")
    fetch.add_argument("request_id", type=request_id, help="the request's id (a UUID)")
    fetch.add_argument("--type", choices=FILE_TYPES, help="only files of this file_type")
    fetch.add_argument("--out", required=True, help="output directory")


def _tools(sub: argparse._SubParsersAction[Parser]) -> None:
    sheets = sub.add_parser(
        "sheets",
        help="contact sheets of a video, no database or run",
        description="vcsi-like contact sheets of a video, written to --out.",
    )
    sheets.set_defaults(command="sheets")
    sheets.add_argument("video", help="the video file")
    sheets.add_argument("--out", required=True, help="output directory")
    sheets.add_argument(
        "--frames", type=frames, help=f"number of frames, 1-{MAX_FRAMES} (default: by length)"
    )
    sheets.add_argument(
        "--grid", type=grid, default=(2, 3), help=f"COLSxROWS, each 1-{MAX_GRID}, default 2x3"
    )
    sheets.add_argument("--accurate", action="store_true", help="exact frame at every target")

    demo = sub.add_parser(
        "demo",
        help="run the job once in this process on a generated (or given) file",
        description="Run media_analysis_job once in this process on the embedded defaults "
        "(SQLite, local files, the offline internal provider) and print the outcome as JSON.",
    )
    demo.set_defaults(command="demo")
    demo.add_argument(
        "--media", help="a video, audio file or document to analyse (default: a generated video)"
    )
    demo.add_argument(
        "--prompt",
        help="the question (default by the file's type: What happens in this video? / What is "
        "said in this recording? / Summarise this document.)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole grammar; ``args.command`` names the command (``"db init"`` for subcommands)."""
    parser = Parser(
        prog="media-analysis",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"media-analysis {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=Parser, metavar="COMMAND"
    )
    _db(sub)
    _submit(sub)
    _reading(sub)
    add_search_parser(sub)
    _tools(sub)
    return parser
