"""Errors of this project and how they become ``error_message`` / ``error_details``.

::

    Exception
    ├── media.errors.MediaError              the input media (see media/errors.py)
    │   ├── UnsupportedMediaError, CorruptMediaError, MediaLimitError, EncryptedDocumentError
    │   └── SourceError → ForbiddenSourceError   a media_path that cannot be read
    ├── net.errors.NetError                  an outbound call (see net/errors.py)
    │   ├── ForbiddenAddressError            a URL or address refused by policy
    │   └── DownloadError → DeadlineExceededError, ResponseTooLargeError
    ├── storage.errors.StorageError          the artifact store (see storage/errors.py)
    ├── providers.errors.ProviderError       an AI provider call (see providers/errors.py)
    └── MediaAnalysisError                   the request itself
        ├── InvalidRequestError              run config or row that cannot be processed
        ├── RequestStateError                the row is not in the state the step needs
        │   ├── RequestNotFoundError
        │   └── RequestNotPendingError       already claimed, finished or cancelled
        └── NothingProducedError             every analysis failed

Every message is one sentence an operator can act on; ``hint`` says what to do.
"""

from __future__ import annotations

import errno
import re
from typing import Any


class MediaAnalysisError(Exception):
    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class InvalidRequestError(MediaAnalysisError):
    hint = "Give exactly one of media_url or media_path, and a valid media_type."


class RequestStateError(MediaAnalysisError):
    pass


class RequestNotFoundError(RequestStateError):
    hint = "Insert the row first (status 'pending'), or launch without request_id."


class RequestNotPendingError(RequestStateError):
    hint = "Set the row back to 'pending' to process it again; a claimed row is never reprocessed."


class NothingProducedError(MediaAnalysisError):
    hint = "Every analysis failed; see error_details.provider_errors."


MESSAGE_CHARS = 500
"""Longest ``error_message`` sentence; a longer one is shortened at a word, with "…"."""


def describe(exc: BaseException) -> str:
    """One readable sentence for ``error_message`` and the step's failure in the UI: never a
    traceback and never a Python class name (``error_details.error_type`` keeps the class).
    Our own errors are written for operators and are used as they are; a foreign one (a bug,
    a library's error) keeps its text when that is a sentence, else it becomes "An unexpected
    error occurred: <its text>"."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"The disk of the data directory is full{where}: no space left on device."
    unreachable = _database_unreachable(exc)
    if unreachable is not None:
        return unreachable
    text = " ".join(str(exc).split())
    if not (isinstance(exc, MediaAnalysisError) or _is_ours(exc)):
        text = _foreign(exc, text)
    elif not text:
        text = getattr(exc, "hint", "") or "The step failed without saying why; see its log"
    text = shorten(text, MESSAGE_CHARS)
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _foreign(exc: BaseException, text: str) -> str:
    """A sentence for an error that is not ours, without its class name."""
    description = getattr(exc, "description", None)
    if type(exc).__module__.startswith("dagster") and isinstance(description, str) and description:
        return " ".join(description.split())  # a ``dagster.Failure`` raised on purpose
    if isinstance(exc, MemoryError):
        return "The step ran out of memory"
    if isinstance(exc, OSError) and exc.strerror:
        return f"A file or network operation failed: {os_reason(exc)}"
    if isinstance(exc, TimeoutError):
        return "An operation timed out" + (f": {text}" if text else "")
    if isinstance(exc, KeyError) and text:
        return f"An unexpected error occurred: the value {text} is missing"
    if len(text.split()) >= 3:  # a library's own sentence reads as it is
        return text[0].upper() + text[1:]
    if text:
        return f"An unexpected error occurred: {text}"
    return "An unexpected error occurred, with no message; see the step's log"


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, "…" marking the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def _database_unreachable(exc: BaseException) -> str | None:
    """A lost or refused database connection (PostgreSQL restarting, the network) as one
    sentence with the driver's first line and no SQL; None for any other error."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    return (
        "The database could not be reached (it may have been restarting): "
        f"{first_line(str(exc.orig or exc))}."
    )


# SQLAlchemy's decorations of a driver message; never shown to an operator.
_DECORATIONS = re.compile(r"\s*(\[SQL: .*|\[parameters: .*|\(Background on this error at: [^)]*\))")
# psycopg2 repeats the host and port the redacted URL already names.
_PG_PREFIX = re.compile(r'^connection to server (at|on) "[^"]*"(, port \d+)? failed: (FATAL: )?')


def first_line(text: str) -> str:
    """The first line of a driver message, without SQL text or SQLAlchemy's links."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = _DECORATIONS.split(line, maxsplit=1)[0]
    line = re.sub(r"^\([\w.]+\)\s*", "", line)  # "(psycopg2.errors.UndefinedTable) ..."
    return " ".join(line.split()).rstrip(".")


def is_database_error(exc: BaseException) -> bool:
    """SQLAlchemy's errors and the raw driver errors ``init_database`` lets through."""
    module = type(exc).__module__
    return module.startswith(("sqlalchemy", "psycopg", "sqlite3")) or module == "_sqlite3"


def driver_reason(exc: BaseException) -> str:
    """A driver's own words, first line only, without the host and port the URL names."""
    return _PG_PREFIX.sub("", first_line(str(exc)))


def os_reason(exc: OSError) -> str:
    text = f"{exc.strerror[0].lower()}{exc.strerror[1:]}" if exc.strerror else "failed"
    return f"{text} ({exc.filename})" if exc.filename else text


def database_message(exc: BaseException, where: str, *, connecting: bool = False) -> str:
    """One sentence about a failed database call: what is wrong with ``where`` (the redacted
    URL) and what to do; the CLI's wording, lower-case and without a final stop."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, OSError) and orig.strerror:  # SQLite's directory could not be made
        return f"cannot open {where}: {os_reason(orig)}"
    code = getattr(orig, "pgcode", None)
    reason = driver_reason(orig)
    low = reason.lower()
    if type(orig).__name__ == "NoSuchModuleError":  # "Can't load plugin: sqlalchemy.dialects:x"
        return f"the database URL {where} names a database this program has no driver for"
    if type(orig).__name__ == "ArgumentError":
        return f"the database URL {where} is not usable: {reason}"
    if code == "42P01" or low.startswith("no such table"):
        return f"the tables do not exist in {where}; run `media-analysis db init`"
    if code == "42703" or low.startswith("no such column") or "has no column named" in low:
        return f"the tables in {where} do not match this version ({reason})"
    if code == "25006" or "readonly database" in low or "read-only" in low:
        return f"cannot write to {where}: the database (or its directory) is read-only"
    if low == "unable to open database file":
        return f"cannot open {where}: the file or its directory is missing or not writable"
    if "file is not a database" in low:
        return f"{where} is not a SQLite database file"
    if connecting:
        return f"cannot connect to {where}: {reason or 'no reason given'}"
    return f"the database {where} refused the command: {reason or 'no reason given'}"


def _is_ours(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith("media_analysis_dagster.")


def error_details(
    exc: BaseException, *, run_id: str | None, step: str | None, **extra: Any
) -> dict[str, Any]:
    """The structured ``error_details`` JSON of a failed request."""
    details: dict[str, Any] = {
        "run_id": run_id,
        "step": step,
        "error_type": type(exc).__name__,
        "message": describe(exc),
    }
    hint = getattr(exc, "hint", "")
    if hint:
        details["hints"] = [hint]
    details.update({k: v for k, v in extra.items() if v is not None})
    return details
