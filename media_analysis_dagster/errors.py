"""Errors of this project and how they become ``error_message`` / ``error_details``.

::

    Exception
    ├── media.errors.MediaError              the input media (see media/errors.py)
    │   ├── UnsupportedMediaError, CorruptMediaError, MediaLimitError, EncryptedDocumentError
    │   └── SourceError → ForbiddenSourceError, DownloadError
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


def describe(exc: BaseException) -> str:
    """One readable sentence for ``error_message`` (never a traceback)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" while writing {exc.filename}" if exc.filename else ""
        return f"The disk of the data directory is full{where}: no space left on device."
    unreachable = _database_unreachable(exc)
    if unreachable is not None:
        return unreachable
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, MediaAnalysisError) and not _is_ours(exc):
        text = f"{type(exc).__name__}: {text}"
    if len(text) > 500:
        text = text[:497] + "..."
    return text if text.endswith((".", "!", "?")) else text + "."


def _database_unreachable(exc: BaseException) -> str | None:
    """A lost or refused database connection (PostgreSQL restarting, the network) as one
    sentence with the driver's first line and no SQL; None for any other error."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    first = (str(exc.orig or exc).strip().splitlines() or [""])[0].strip().rstrip(".")
    return f"The database could not be reached (it may have been restarting): {first}."


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
