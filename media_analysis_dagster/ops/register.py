"""``register_request``: claim the pending row, or create the row for a direct launch.

Its config is ``RequestConfig`` with ``check_request`` attached (``checked_shape``): a request
that breaks a rule is refused when the run is launched, before any run or row exists. The op
checks again what only it sees, a pending row's own values.
"""

from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import RequestSpec
from ..dagster_internals.checked_config import checked_shape
from ..db.store import Store
from ..errors import RequestNotFoundError, RequestNotPendingError
from ..pipeline.request_config import RequestConfig, check_request
from ..pipeline.request_options import check_row, request_spec
from ..pipeline.steps import materialize, media_label, readable_failures, tag_run
from ..resources import DatabaseResource
from ..tags import TAG_REQUEST_ID, TAG_SOURCE

REQUEST_CONFIG = checked_shape(
    RequestConfig.to_fields_dict(),
    check_request,
    description="One media-analysis request: the request_id of a pending row, or the media of a "
    "new request (media_url or media_path), plus options. A wrong value refuses the launch with "
    "one sentence, and no run is created.",
)


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
        media_type=config.media_type.value,
        media_url=config.media_url,
        media_path=config.media_path,
        prompt=config.prompt,
        user_metadata=config.user_metadata,
        created_by=config.created_by,
        source_endpoint=config.source_endpoint or source,
        status="processing",
    )


@op(
    config_schema=REQUEST_CONFIG,
    description="Claim the pending request row (request_id), or insert a new row as processing "
    "(media_url or media_path); tag the run with the request id. Every other step reads the "
    "request it returns.",
)
@readable_failures
def register_request(
    context: OpExecutionContext, database: DatabaseResource
) -> Output[RequestSpec]:
    config = check_request(context.op_config)  # checked at launch; a second line, same rules
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
    check_row(row)  # a pending row's own values, written by whoever inserted it
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
