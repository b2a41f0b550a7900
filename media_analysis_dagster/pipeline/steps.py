"""What every op needs: the run's request id and tags, table materializations, the write sequence
of a step that makes files, and step errors as one readable sentence."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    Failure,
    MetadataValue,
    OpExecutionContext,
)

from ..dagster_internals.step_failure import HoistedFailure
from ..db.rows import NewFile, NewSheet
from ..db.segments import NewSegment
from ..errors import InvalidRequestError, MediaAnalysisError, describe, error_details
from ..media.errors import MediaError
from ..net.errors import NetError
from ..storage.errors import StorageError
from ..tags import TAG_MEDIA, TAG_MEDIA_TYPE, TAG_REQUEST_ID, TAG_SOURCE

# Steps that write files: step key -> (folder under requests/<id>/, media_files.file_type
# values). ``begin_file_step``, ``write_step_files`` and the failure hook all read it, so they
# cannot disagree. Mapped ``analyze`` steps are keyed by their mapping key.
STEP_OUTPUTS = {
    "fetch_media": ("original", ["original"]),
    "extract_frames": ("frames", ["frame"]),
    "build_contact_sheets": ("contact_sheets", ["contact_sheet"]),
    "extract_audio": ("audio", ["audio"]),
    "extract_document": ("document", ["document", "preview"]),
    "analyze[transcription]": ("transcription", ["transcription"]),  # the .srt/.vtt
    "analyze[scene_detection]": ("scenes", ["thumbnail"]),  # one picture per scene
    "complete_request": ("report", ["processed"]),  # the HTML report
}


def step_outputs(step_key: str | None, op_name: str) -> tuple[str, list[str]] | None:
    """The folder and file types a step owns (by its step key, else its op's name)."""
    return STEP_OUTPUTS.get(step_key or "") or STEP_OUTPUTS.get(op_name)


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
    segments: Sequence[NewSegment] = (),
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
        segments=segments,
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


def _table_write(table: str, request_id: str, description: str, **metadata: Any) -> Any:
    return AssetMaterialization(
        asset_key=AssetKey(table),
        partition=None,
        description=description,
        metadata={"request_id": request_id, **{k: v for k, v in metadata.items() if v is not None}},
    )


def materialize(context: OpExecutionContext, table: str, request_id: str, **metadata: Any) -> None:
    """Record a write to one of the four tables, so the asset catalog shows lineage."""
    context.log_event(_table_write(table, request_id, f"rows for request {request_id}", **metadata))


def materialize_after_failure(
    instance: DagsterInstance,
    table: str,
    request_id: str,
    *,
    run_id: str,
    step: str | None = None,
    **metadata: Any,
) -> None:
    """Record a write made by the failure hook (the row ended ``failed``, a failed step's files
    removed), so the asset catalog shows it like every other write.

    A hook cannot log events into its run in Dagster 1.13 (``HookContext`` has no
    ``log_event``, and an op's logged events are dropped when it raises), so the write is
    reported to the instance as a runless materialization: it becomes the table's latest
    materialization, and its metadata links the run and names the step that failed. (The
    run-status sensors, which end rows outside any step, can record their writes the same way,
    without ``step``.)
    """
    where = f"step {step} of run {run_id}" if step else f"run {run_id}"
    instance.report_runless_asset_event(
        _table_write(
            table,
            request_id,
            f"rows for request {request_id}, written when {where} ended",
            run=MetadataValue.dagster_run(run_id),
            failed_step=step,
            **metadata,
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
BAD_INPUT: tuple[type[BaseException], ...] = (MediaError, NetError, InvalidRequestError)
"""Errors that condemn the input itself (the media, or the request's own options): nothing of
the request is worth keeping."""


class StepFailure(HoistedFailure):
    """A step's own error as the UI and the run's log show it: the sentence and the structured
    details as metadata, with no Python class name and no stack trace
    (``dagster_internals/step_failure.py`` says how). ``original`` is the step's own exception,
    for the failure hook (:func:`original_error`); it is not chained, so no traceback follows
    the sentence."""

    def __init__(self, original: BaseException, op_name: str) -> None:
        details = error_details(original, run_id=None, step=op_name)
        details.pop("run_id")
        metadata = {
            k: MetadataValue.json(v) if isinstance(v, list) else v for k, v in details.items()
        }
        super().__init__(describe(original), metadata, type(original).__name__)
        self.original = original


def readable_failures(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Raise the step's own errors as a :class:`StepFailure`: one sentence as the step's
    failure, the structured details as its metadata, and no chained traceback (``from None``;
    the original stays on ``StepFailure.original`` for the failure hook)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except READABLE_ERRORS as exc:
                raise StepFailure(exc, fn.__name__) from None

        return generator

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except READABLE_ERRORS as exc:
            raise StepFailure(exc, fn.__name__) from None

    return plain


def original_error(exc: BaseException | None) -> BaseException | None:
    """The step's own exception behind a :class:`StepFailure` (or behind a ``Failure`` raised
    ``from`` it); any other exception is its own original."""
    if isinstance(exc, StepFailure):
        return exc.original
    if isinstance(exc, Failure) and exc.__cause__ is not None:
        return exc.__cause__
    return exc
