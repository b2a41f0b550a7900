"""The media-analysis command: initialise the tables, submit and follow requests, inspect them,
write their HTML report, fetch their files, make contact sheets.

Errors are one line on stderr and a non-zero exit (2 for a refused argument, 1 for everything
else); a traceback is a bug. ``requests`` and ``status`` print readable text by default and, with
``--json``, the JSON shape the seed's ``/requests`` and ``/status/{request_id}`` endpoints
returned, so scripts can parse it. The grammar and help live in ``cli_args.py``, the printed
shapes in ``cli_output.py``; this module is the only one of them that reads the settings.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .cli_args import build_parser
from .cli_output import requests_table, status_summary, to_json
from .errors import (
    InvalidRequestError,
    database_message,
    describe,
    first_line,
    is_database_error,
    os_reason,
)
from .settings import Settings, load_settings

__all__ = ["CliError", "build_parser", "main"]


class CliError(Exception):
    """A readable, one-line failure (exit status 1)."""


class UsageError(CliError):
    """A value the command refuses before doing anything (exit status 2, like argparse)."""


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


def _row(request_id: str) -> dict[str, Any]:
    row = _store().get_request(request_id)
    if row is None:
        raise CliError(f"request {request_id} not found")
    return dict(row)


def cmd_db(args: argparse.Namespace) -> int:
    """``media-analysis db`` alone: the db commands' help, not an argparse error."""
    print(args.parser.format_help(), end="")
    return 0


def cmd_db_init(args: argparse.Namespace) -> int:
    from .db.schema import init_database

    store = _store()
    db = _settings().database
    applied = init_database(store.engine, db.schema_dir)
    print(f"initialised {db.redacted}: {', '.join(applied)}")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .cli_submit import check_submission, checked_media_path, checked_metadata

    if args.timeout is not None and not args.wait:
        raise UsageError("--timeout only applies with --wait")
    settings = _settings()
    try:
        metadata = checked_metadata(args.metadata, args.providers)
        media_path = (
            checked_media_path(args.media_path, settings.fetch.media_roots, Path.cwd())
            if args.media_path
            else None
        )
        request = {
            "media_type": args.type,
            "media_path": media_path,
            "media_url": args.media_url,
            "prompt": args.prompt,
            "created_by": args.created_by,
        }
        check_submission(request, metadata)
    except InvalidRequestError as exc:
        raise UsageError(str(exc).rstrip(".")) from None
    store = _store()
    row = store.create_request(**request, user_metadata=metadata, source_endpoint="cli")
    print(row["request_id"], flush=True)
    if not args.wait:
        return 0
    return _wait(store, str(row["request_id"]), settings, args.timeout)


def _wait(store: Any, request_id: str, settings: Settings, timeout_s: float | None) -> int:
    from .cli_wait import Waiter

    def say(line: str) -> None:
        print(line, flush=True)

    instance = None
    if settings.dagster_home is not None:
        from dagster import DagsterInstance

        instance = DagsterInstance.get()
    else:
        say("DAGSTER_HOME is not set: printing status changes only, no progress lines")
    try:
        status = Waiter(store, request_id, say, instance=instance).wait(timeout_s)
    except KeyboardInterrupt:
        say(f"stopped waiting; the request goes on: media-analysis status {request_id}")
        return 130
    finally:
        if instance is not None:
            instance.dispose()
    return 0 if status == "completed" else 1


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


def cmd_status(args: argparse.Namespace) -> int:
    row = _row(args.request_id)
    if row.get("files"):
        with _artifacts() as artifacts:
            for file in row["files"]:
                file["url"] = _url(artifacts, file, args.expires)
    print(to_json(row) if args.json else status_summary(row))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    """Download a request's artifacts (from its bucket, or copy local ones) into ``--out``."""
    import shutil

    row = _row(args.request_id)
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
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """The request's HTML report, rendered from the tables and its stored files."""
    from .report import write_report

    row = _row(args.request_id)
    out = Path(args.out or f"report-{args.request_id}.html")
    with _artifacts() as artifacts:

        def read(file: dict[str, Any]) -> bytes:
            if (file.get("storage_location") or "local") == "local":
                return Path(file["file_path"]).read_bytes()
            with _remote_store(artifacts, file["storage_location"]).open(
                file["file_path"]
            ) as handle:
                return bytes(handle.read())

        path = Path(write_report(row, read, out))
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.absolute().as_uri())
    return 0


def cmd_requests(args: argparse.Namespace) -> int:
    page = _store().list_requests(
        status=args.status, media_type=args.media_type, limit=args.limit, offset=args.offset
    )
    print(to_json(page) if args.json else requests_table(page))
    return 0


def cmd_sheets(args: argparse.Namespace) -> int:
    from .sheets import make_sheets

    for path in make_sheets(
        Path(args.video), Path(args.out), frames=args.frames, grid=args.grid, accurate=args.accurate
    ):
        print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    print(to_json(run_demo(Path(args.media) if args.media else None, prompt=args.prompt)))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Ranked hits across everything analysed (``cli_search.py``)."""
    from .cli_search import run_search

    with _artifacts() as artifacts:
        return run_search(args, _store(), artifacts=artifacts)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "db": cmd_db,
    "db init": cmd_db_init,
    "submit": cmd_submit,
    "status": cmd_status,
    "fetch": cmd_fetch,
    "report": cmd_report,
    "requests": cmd_requests,
    "sheets": cmd_sheets,
    "demo": cmd_demo,
    "search": cmd_search,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (2 for a refused argument, 1 for a failure)."""
    # Retry warnings would break the one-line error contract; the final error says it all.
    logging.getLogger("media_analysis_dagster").addHandler(logging.NullHandler())
    logging.getLogger("media_analysis_dagster").propagate = False
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"media-analysis: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"media-analysis: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        while _ENGINES:
            _ENGINES.pop().dispose()


if __name__ == "__main__":
    sys.exit(main())
