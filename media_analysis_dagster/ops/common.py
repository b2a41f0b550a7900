"""What every op needs: the request id of the run, table materializations, file rows."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetMaterialization, OpExecutionContext

from ..db.rows import NewFile
from .config import TAG_MEDIA_TYPE, TAG_REQUEST_ID

# Steps that write files: step -> (folder under requests/<id>/, media_files.file_type values).
# ``begin_file_step`` and the failure hook both read it, so the two cannot disagree.
STEP_OUTPUTS = {
    "fetch_media": ("original", ["original"]),
    "extract_frames": ("frames", ["frame"]),
    "build_contact_sheets": ("contact_sheets", ["contact_sheet"]),
    "extract_audio": ("audio", ["audio"]),
    "extract_document": ("document", ["document", "preview"]),
}


def run_request_id(context: Any) -> str | None:
    """The request id tag of the run, read fresh (``register_request`` may have added it)."""
    run = context.instance.get_run_by_id(context.run_id)
    return run.tags.get(TAG_REQUEST_ID) if run else None


def tag_run(context: OpExecutionContext, request_id: str, media_type: str | None) -> None:
    tags = {TAG_REQUEST_ID: request_id}
    if media_type:
        tags[TAG_MEDIA_TYPE] = media_type
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


def file_row(path: Path, file_type: str, *, mime_type: str | None = None, **fields: Any) -> NewFile:
    """A ``media_files`` row for a file we just wrote (size from disk, name from the path)."""
    mime = mime_type or mimetypes.guess_type(path.name)[0]
    return NewFile(
        file_type=file_type,
        file_path=str(path),
        file_name=path.name[:255],
        file_size_bytes=path.stat().st_size,
        mime_type=mime,
        **fields,
    )
