"""``media-analysis``: initialise the tables, submit and inspect requests, make contact sheets.

Errors are one line on stderr and a non-zero exit (2 for bad arguments, 1 for everything else);
a traceback is a bug. Commands that read the tables print JSON, the shape the seed's
``/status/{request_id}`` and ``/requests`` endpoints returned, so scripts can parse it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .db.constants import FILE_TYPES, MEDIA_TYPES, STATUSES
from .errors import database_message, describe, first_line, is_database_error, os_reason
from .settings import Settings, load_settings
from .sheets import MAX_FRAMES, MAX_GRID


class CliError(Exception):
    """A readable, one-line failure."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


_ENGINES: list[Any] = []  # engines this invocation opened; ``main`` disposes of them


def _settings() -> Settings:
    """The environment, read and checked once (a bad variable is one line, naming it)."""
    try:
        return load_settings()
    except ValueError as exc:  # SettingsError and the storage/allow-list checks
        raise CliError(str(exc).rstrip(".")) from None


def _store() -> Any:
    """The tables' store, its engine checked; one readable line when the database is not there."""
    from .db.engine import connect_engine
    from .db.store import Store

    db = _settings().database
    try:
        engine = connect_engine(
            db.url, pool_size=db.pool_size, max_overflow=db.max_overflow, connect_attempts=3
        )
    except Exception as exc:  # connection errors come in many driver-specific types
        raise CliError(database_message(exc, db.redacted, connecting=True)) from exc
    _ENGINES.append(engine)
    return Store(engine)


def _where() -> str:
    """The configured database, redacted, for errors raised deeper down (a query, the demo)."""
    try:
        return load_settings().database.redacted
    except Exception:  # describing an error must not fail in its turn
        return "the configured database URL"


def _one_line(exc: BaseException) -> str:
    """The last line of defence: one sentence with no SQL, traceback or exception class."""
    if is_database_error(exc):
        return database_message(exc, _where())
    if isinstance(exc, OSError) and exc.strerror:
        return os_reason(exc)
    if type(exc).__module__.startswith("media_analysis_dagster."):
        return describe(exc).rstrip(".")  # our messages are written for operators
    return first_line(str(exc)) or "an unexpected internal error, with no message"


def _request_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a request id (UUID): {value!r}") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return number


def _frames(value: str) -> int:
    """``--frames``: the bounds of the run config's ``frame_count``."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= number <= MAX_FRAMES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_FRAMES}, got {number}")
    return number


def _grid(value: str) -> tuple[int, int]:
    """``--grid COLSxROWS``: the bounds of the run config's ``grid_cols``/``grid_rows``."""
    cols, sep, rows = value.strip().lower().partition("x")
    if not sep or not cols.isdigit() or not rows.isdigit():
        raise argparse.ArgumentTypeError(f"grid must look like 2x3, got {value!r}")
    if not (1 <= int(cols) <= MAX_GRID and 1 <= int(rows) <= MAX_GRID):
        raise argparse.ArgumentTypeError(
            f"columns and rows must each be between 1 and {MAX_GRID}, got {value!r}"
        )
    return int(cols), int(rows)


def _media_path(value: str) -> str:
    """``--media-path``: a non-blank path (an empty one would resolve to the current folder)."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _media_url(value: str) -> str:
    """``--media-url``: an absolute http(s) URL, surrounding blanks removed."""
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
    if parts.scheme.lower() not in {"http", "https"} or not host:
        raise argparse.ArgumentTypeError(f"must be an http(s) URL with a host, got {value!r}")
    return url


def _print(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_db_init(args: argparse.Namespace) -> None:
    from .db.schema import init_database

    store = _store()
    db = _settings().database
    applied = init_database(store.engine, db.schema_dir)
    print(f"initialised {db.redacted}: {', '.join(applied)}")


def cmd_submit(args: argparse.Namespace) -> None:
    metadata: dict[str, Any] = {}
    if args.metadata:
        try:
            metadata = json.loads(args.metadata)
        except json.JSONDecodeError as exc:
            raise CliError(f"--metadata is not valid JSON: {exc.msg}") from None
        if not isinstance(metadata, dict):
            raise CliError("--metadata must be a JSON object")
    if args.providers:
        metadata["providers"] = [p.strip() for p in args.providers.split(",") if p.strip()]
    media_path = str(Path(args.media_path).expanduser().absolute()) if args.media_path else None
    row = _store().create_request(
        media_type=args.type,
        media_path=media_path,
        media_url=args.media_url,
        prompt=args.prompt,
        user_metadata=metadata,
        created_by=args.created_by,
        source_endpoint="cli",
    )
    print(row["request_id"])


def _artifacts() -> Any:
    from .storage import open_store

    return open_store(_settings().storage.config)


def _remote_store(artifacts: Any, location: str) -> Any:
    same = location == artifacts.location or {location, artifacts.location} <= {"s3", "r2"}
    if not same:
        raise CliError(
            f"a file is stored in {location}, but MEDIA_ANALYSIS_STORAGE is {artifacts.location}"
        )
    return artifacts


def _url(artifacts: Any, file: dict[str, Any], expires: int) -> str:
    """A URL this machine can fetch: presigned for a bucket, ``file://`` for a local file."""
    if (file.get("storage_location") or "local") == "local":
        return Path(file["file_path"]).absolute().as_uri()
    store = _remote_store(artifacts, file["storage_location"])
    return str(store.presign(file["file_path"], expires))


def cmd_status(args: argparse.Namespace) -> None:
    row = _store().get_request(args.request_id)
    if row is None:
        raise CliError(f"request {args.request_id} not found")
    if row.get("files"):
        with _artifacts() as artifacts:
            for file in row["files"]:
                file["url"] = _url(artifacts, file, args.expires)
    _print(row)


def cmd_fetch(args: argparse.Namespace) -> None:
    """Download a request's artifacts (from its bucket, or copy local ones) into ``--out``."""
    import shutil

    row = _store().get_request(args.request_id)
    if row is None:
        raise CliError(f"request {args.request_id} not found")
    files = [f for f in row["files"] if args.type is None or f["file_type"] == args.type]
    if not files:
        raise CliError(
            f"request {args.request_id} has no {args.type or ''} files".replace("  ", " ")
        )
    out = Path(args.out)
    with _artifacts() as artifacts:
        for file in files:
            dest = out / file["file_type"] / Path(file["file_path"]).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if (file.get("storage_location") or "local") == "local":
                shutil.copyfile(file["file_path"], dest)
            else:
                _remote_store(artifacts, file["storage_location"]).get_file(file["file_path"], dest)
            print(dest)


def cmd_requests(args: argparse.Namespace) -> None:
    _print(
        _store().list_requests(
            status=args.status, media_type=args.media_type, limit=args.limit, offset=args.offset
        )
    )


def cmd_sheets(args: argparse.Namespace) -> None:
    from .sheets import make_sheets

    for path in make_sheets(
        Path(args.video), Path(args.out), frames=args.frames, grid=args.grid, accurate=args.accurate
    ):
        print(path)


def cmd_demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    _print(run_demo(Path(args.media) if args.media else None, prompt=args.prompt))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="media-analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_sub.add_parser("init", help="create the four tables (safe to run twice)").set_defaults(
        func=cmd_db_init
    )

    submit = sub.add_parser("submit", help="insert a pending request; prints its id")
    source = submit.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--media-path",
        type=_media_path,
        help="local file (must lie in MEDIA_ANALYSIS_MEDIA_ROOTS)",
    )
    source.add_argument("--media-url", type=_media_url, help="http(s) URL")
    submit.add_argument("--type", choices=MEDIA_TYPES, default="auto")
    submit.add_argument("--prompt")
    submit.add_argument("--metadata", help="user_metadata as a JSON object")
    submit.add_argument("--providers", help="comma-separated providers to use")
    submit.add_argument("--created-by")
    submit.set_defaults(func=cmd_submit)

    status = sub.add_parser("status", help="a request with its results, files and sheets")
    status.add_argument("request_id", type=_request_id)
    status.add_argument(
        "--expires", type=_positive, default=3600, help="seconds a presigned URL stays valid"
    )
    status.set_defaults(func=cmd_status)

    fetch = sub.add_parser("fetch", help="download a request's files (from its bucket)")
    fetch.add_argument("request_id", type=_request_id)
    fetch.add_argument("--type", choices=FILE_TYPES, help="only this file_type")
    fetch.add_argument("--out", required=True, help="output directory")
    fetch.set_defaults(func=cmd_fetch)

    reqs = sub.add_parser("requests", help="list requests, newest first")
    reqs.add_argument("--status", choices=STATUSES)
    reqs.add_argument("--media-type", choices=MEDIA_TYPES)
    reqs.add_argument("--limit", type=_positive, default=100)
    reqs.add_argument("--offset", type=_positive, default=0)
    reqs.set_defaults(func=cmd_requests)

    sheets = sub.add_parser("sheets", help="contact sheets of a video, no database or run")
    sheets.add_argument("video")
    sheets.add_argument("--out", required=True, help="output directory")
    sheets.add_argument(
        "--frames", type=_frames, help=f"number of frames, 1..{MAX_FRAMES} (default: by length)"
    )
    sheets.add_argument(
        "--grid", type=_grid, default=(2, 3), help=f"COLSxROWS, each 1..{MAX_GRID}, default 2x3"
    )
    sheets.add_argument("--accurate", action="store_true", help="exact frame at every target")
    sheets.set_defaults(func=cmd_sheets)

    demo = sub.add_parser("demo", help="run the job once on a generated (or given) video")
    demo.add_argument("--media", help="a media file to analyse instead of a generated video")
    demo.add_argument("--prompt", default="What happens in this video?")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (2 for bad arguments, 1 for a failure)."""
    # Retry warnings would break the one-line error contract; the final error says it all.
    logging.getLogger("media_analysis_dagster").addHandler(logging.NullHandler())
    logging.getLogger("media_analysis_dagster").propagate = False
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "requests" and args.limit > 1000:
            parser.error("--limit must be at most 1000")
    except SystemExit as exc:  # argparse's usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        args.func(args)
    except CliError as exc:
        print(f"media-analysis: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"media-analysis: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        while _ENGINES:
            _ENGINES.pop().dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
