"""``register_request``: claim the pending row, or create the row for a direct launch."""

import uuid
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import RequestSpec
from ..db.constants import MEDIA_TYPES
from ..db.store import Store
from ..errors import InvalidRequestError, RequestNotFoundError, RequestNotPendingError
from ..pipeline.request_config import RequestConfig
from ..pipeline.request_options import request_spec
from ..pipeline.steps import materialize, media_label, readable_failures, tag_run
from ..resources import DatabaseResource
from ..tags import TAG_REQUEST_ID, TAG_SOURCE


def _validate(config: RequestConfig) -> None:
    if config.media_type not in MEDIA_TYPES:
        raise InvalidRequestError(
            f"media_type must be one of {', '.join(MEDIA_TYPES)}, not {config.media_type!r}."
        )
    if config.request_id is None and bool(config.media_url) == bool(config.media_path):
        raise InvalidRequestError("Give exactly one of media_url or media_path.")
    if config.request_id is not None:
        try:
            uuid.UUID(config.request_id)
        except ValueError:
            raise InvalidRequestError(f"request_id {config.request_id!r} is not a UUID.") from None


def _claim(store: Store, request_id: str, reexecution: bool) -> dict[str, Any]:
    statuses = ("pending", "failed") if reexecution else ("pending",)
    row = store.claim_request(request_id, from_statuses=statuses)
    if row is not None:
        return row
    status = store.get_status(request_id)
    if status is None:
        raise RequestNotFoundError(f"Request {request_id} does not exist.")
    raise RequestNotPendingError(
        f"Request {request_id} is {status}, not pending, so this run leaves it alone."
    )


def _create(store: Store, config: RequestConfig, source: str) -> dict[str, Any]:
    return store.create_request(
        media_type=config.media_type,
        media_url=config.media_url,
        media_path=config.media_path,
        prompt=config.prompt,
        user_metadata=config.user_metadata,
        created_by=config.created_by,
        source_endpoint=config.source_endpoint or source,
        status="processing",
    )


@op(description="Claim the pending request row atomically, or insert it as processing.")
@readable_failures
def register_request(
    context: OpExecutionContext, config: RequestConfig, database: DatabaseResource
) -> Output[RequestSpec]:
    _validate(config)
    # A re-execution (from the UI, or a run retry) works on its parent's request, which the
    # parent's failure left 'failed': it may reopen that row, and only that row.
    reexecution = context.run.parent_run_id is not None
    request_id = config.request_id or (
        context.run.tags.get(TAG_REQUEST_ID) if reexecution else None
    )
    source = context.run.tags.get(TAG_SOURCE, "ui")
    store = database.store
    claimed = request_id is not None
    row = _claim(store, request_id, reexecution) if request_id else _create(store, config, source)
    request_id = str(row["request_id"])
    media = media_label(row.get("media_url"), row.get("media_path"))
    tag_run(context, request_id, row["media_type"], source, media)
    if not row.get("media_url") and not row.get("media_path"):
        raise InvalidRequestError(f"Request {request_id} has neither media_url nor media_path.")
    spec = request_spec(config, row)
    materialize(
        context,
        "media_analysis_requests",
        request_id,
        status="processing",
        claimed_pending_row=claimed,
    )
    return Output(
        spec,
        metadata={
            "request_id": request_id,
            "claimed_pending_row": claimed,
            "media_type": spec.media_type,
            "source": MetadataValue.text(str(spec.media_url or spec.media_path)),
        },
    )
