"""What every op needs: the run's request id and tags, table materializations, the write sequence
of a step that makes files, and step errors as one readable sentence."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dagster import AssetKey, AssetMaterialization, Failure, MetadataValue, OpExecutionContext

from ..db.rows import NewFile, NewSheet
from ..errors import MediaAnalysisError, describe, error_details
from ..media.errors import MediaError
from ..net.errors import NetError
from ..storage.errors import StorageError
from ..tags import TAG_MEDIA, TAG_MEDIA_TYPE, TAG_REQUEST_ID, TAG_SOURCE

# Steps that write files: step -> (folder under requests/<id>/, media_files.file_type values).
# ``begin_file_step`` and the failure hook both read it, so the two cannot disagree.
STEP_OUTPUTS = {
    "fetch_media": ("original", ["original"]),
    "extract_frames": ("frames", ["frame"]),
    "build_contact_sheets": ("contact_sheets", ["contact_sheet"]),
    "extract_audio": ("audio", ["audio"]),
    "extract_document": ("document", ["document", "preview"]),
    "analyze": ("transcription", ["transcription"]),  # a transcript's .srt/.vtt
}


def run_request_id(context: Any) -> str | None:
    """The request id tag of the run, read fresh (``register_request`` may have added it)."""
    run = context.instance.get_run_by_id(context.run_id)
    return run.tags.get(TAG_REQUEST_ID) if run else None


def media_label(media_url: str | None, media_path: str | None) -> str:
    """What a person recognises a request by in the runs list: the file name, or the URL's host
    and path (never its query string or credentials)."""
    if media_path:
        return Path(media_path).name[:200] or media_path[:200]
    parts = urlsplit(media_url or "")
    return (
        f"{parts.hostname or ''}{parts.path}"[:200] if parts.hostname else (media_url or "")[:200]
    )


def tag_run(
    context: OpExecutionContext,
    request_id: str,
    media_type: str | None,
    source: str | None = None,
    media: str | None = None,
) -> None:
    """The run's tags (``tags.py``): request id and media type, what the media is, and
    ``media_analysis/source`` for a run launched without one (the launchpad), so every run
    carries them all (``docs/architecture.md`` §1, "Run tags")."""
    tags = {TAG_REQUEST_ID: request_id}
    if source and TAG_SOURCE not in context.run.tags:
        tags[TAG_SOURCE] = source
    if media_type:
        tags[TAG_MEDIA_TYPE] = media_type
    if media:
        tags[TAG_MEDIA] = media
    current = context.run.tags
    new = {k: v for k, v in tags.items() if current.get(k) != v}
    if new:
        context.instance.add_run_tags(context.run_id, new)


def resume_if_reexecution(context: OpExecutionContext, store: Any, request_id: str) -> None:
    """In a re-execution that skips ``register_request`` (from failure, or one step), put the
    request the parent run left ``failed`` back to ``processing`` so the run can complete it."""
    if context.run.parent_run_id is None:
        return
    if store.claim_request(request_id, from_statuses=("failed",)) is not None:
        context.log.info(f"re-execution reopened request {request_id} (was failed)")


def begin_file_step(context: OpExecutionContext, store: Any, files: Any, request_id: str) -> Path:
    """Reopen the row in a re-execution, and give the step its own emptied folder."""
    resume_if_reexecution(context, store, request_id)
    return files.step_dir(request_id, STEP_OUTPUTS[context.op.name][0])  # type: ignore[no-any-return]


def write_step_files(
    context: OpExecutionContext,
    store: Any,
    request_id: str,
    files: Sequence[NewFile],
    *,
    sheets: Sequence[NewSheet] = (),
    step: str | None = None,
    **metadata: Any,
) -> dict[str, list[str]]:
    """The one write sequence of a step that makes files: replace the step's ``media_files`` rows
    (the ``file_type`` values it owns, from ``STEP_OUTPUTS``, so a re-executed step replaces
    rather than duplicates) and its contact sheets, then record the write in the asset catalog."""
    name = step or context.op.name
    types = STEP_OUTPUTS[name][1]
    ids: dict[str, list[str]] = store.replace_rows(
        request_id,
        file_types=types,
        replace_sheets=name == "build_contact_sheets",
        files=files,
        sheets=sheets,
    )
    made = sorted({f.file_type for f in files}) or types
    materialize(
        context, "media_files", request_id, file_type=",".join(made), rows=len(files), **metadata
    )
    if name == "build_contact_sheets":
        materialize(
            context,
            "contact_sheets",
            request_id,
            rows=len(sheets),
            contact_sheet_ids=MetadataValue.json(ids["contact_sheets"]),
        )
    return ids


def materialize(context: OpExecutionContext, table: str, request_id: str, **metadata: Any) -> None:
    """Record a write to one of the four tables, so the asset catalog shows lineage."""
    context.log_event(
        AssetMaterialization(
            asset_key=AssetKey(table),
            partition=None,
            description=f"rows for request {request_id}",
            metadata={
                "request_id": request_id,
                **{k: v for k, v in metadata.items() if v is not None},
            },
        )
    )


# The errors a step raises on purpose: their message is one sentence for an operator, so the UI
# shows it as the step's failure (a ``dagster.Failure``) instead of a stack trace. Anything
# else is a bug and keeps its traceback.
READABLE_ERRORS: tuple[type[BaseException], ...] = (
    MediaError,
    NetError,
    MediaAnalysisError,
    StorageError,
)
BAD_INPUT: tuple[type[BaseException], ...] = (MediaError, NetError)
"""Errors that condemn the input itself: nothing of the request is worth keeping."""


def _failure(exc: BaseException, op_name: str) -> Failure:
    details = error_details(exc, run_id=None, step=op_name)
    details.pop("run_id")
    metadata = {k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in details.items()}
    return Failure(description=describe(exc), metadata=metadata, allow_retries=False)


def readable_failures(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Raise the step's own errors as ``dagster.Failure(description=<one sentence>)`` with the
    structured details as metadata; the original stays the ``__cause__`` for the failure hook."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except READABLE_ERRORS as exc:
                raise _failure(exc, fn.__name__) from exc

        return generator

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except READABLE_ERRORS as exc:
            raise _failure(exc, fn.__name__) from exc

    return plain


def original_error(exc: BaseException | None) -> BaseException | None:
    """The step's own exception behind a ``readable_failures`` ``Failure``."""
    if isinstance(exc, Failure) and exc.__cause__ is not None:
        return exc.__cause__
    return exc
