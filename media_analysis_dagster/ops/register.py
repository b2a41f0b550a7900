"""``register_request``: claim the pending row, or create the row for a direct launch."""

import uuid
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..db.constants import MEDIA_TYPES
from ..errors import InvalidRequestError, RequestNotFoundError, RequestNotPendingError
from ..resources import DatabaseResource
from .common import materialize, tag_run
from .config import TAG_REQUEST_ID, TAG_SOURCE, RequestConfig


def _validate(config: RequestConfig) -> None:
    if config.media_type not in MEDIA_TYPES:
        raise InvalidRequestError(
            f"media_type must be one of {', '.join(MEDIA_TYPES)}, not {config.media_type!r}."
        )
    if config.request_id is None and bool(config.media_url) == bool(config.media_path):
        raise InvalidRequestError("Give exactly one of media_url or media_path.")


def _claim(database: DatabaseResource, request_id: str, reexecution: bool) -> dict[str, Any]:
    statuses = ("pending", "failed") if reexecution else ("pending",)
    row = database.store.claim_request(request_id, from_statuses=statuses)
    if row is not None:
        return row
    status = database.store.get_status(request_id)
    if status is None:
        raise RequestNotFoundError(f"Request {request_id} does not exist.")
    raise RequestNotPendingError(
        f"Request {request_id} is {status}, not pending, so this run leaves it alone."
    )


@op(description="Claim the pending request row atomically, or insert it as processing.")
def register_request(
    context: OpExecutionContext, config: RequestConfig, database: DatabaseResource
) -> Output[dict[str, Any]]:
    _validate(config)
    # A re-execution (from the UI, or a run retry) works on its parent's request, which the
    # parent's failure left 'failed': it may reopen that row, and only that row.
    reexecution = context.run.parent_run_id is not None
    request_id = config.request_id or (
        context.run.tags.get(TAG_REQUEST_ID) if reexecution else None
    )
    if request_id:
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise InvalidRequestError(f"request_id {request_id!r} is not a UUID.") from None
        row = _claim(database, request_id, reexecution)
        claimed = True
    else:
        row = database.store.create_request(
            media_type=config.media_type,
            media_url=config.media_url,
            media_path=config.media_path,
            prompt=config.prompt,
            user_metadata=config.user_metadata,
            created_by=config.created_by,
            source_endpoint=config.source_endpoint or context.run.tags.get(TAG_SOURCE, "ui"),
            status="processing",
        )
        claimed = False
    request_id = row["request_id"]
    tag_run(context, request_id, row["media_type"])
    if not row.get("media_url") and not row.get("media_path"):
        raise InvalidRequestError(f"Request {request_id} has neither media_url nor media_path.")
    metadata = row.get("user_metadata") or {}
    request = {
        "request_id": request_id,
        "media_type": row["media_type"],
        "media_url": row.get("media_url"),
        "media_path": row.get("media_path"),
        "prompt": row.get("prompt"),
        "providers": config.providers or metadata.get("providers"),
        "provider_options": config.provider_options or metadata.get("provider_options") or {},
        "frame_count": config.frame_count or metadata.get("frame_count"),
        "grid_cols": config.grid_cols,
        "grid_rows": config.grid_rows,
        "accurate_frames": config.accurate_frames,
        "started_at": row.get("started_at"),
    }
    materialize(
        context,
        "media_analysis_requests",
        request_id,
        status="processing",
        claimed_pending_row=claimed,
    )
    return Output(
        request,
        metadata={
            "request_id": request_id,
            "claimed_pending_row": claimed,
            "media_type": row["media_type"],
            "source": MetadataValue.text(str(row.get("media_url") or row.get("media_path"))),
        },
    )
