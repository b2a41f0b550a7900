"""Failure handling: the request row ends ``failed`` with a reason the moment a step fails.

A step that fails removes the files it half-wrote (its own folder and rows). When the input
itself is bad (``pipeline.steps.BAD_INPUT``), nothing of the request is worth keeping, so all its
files and file rows go. A run that fails because the row was not pending never touches the row.
Each of these writes is recorded in the asset catalog like the ops' writes
(``pipeline.steps.materialize_after_failure``), so ``media_analysis_requests`` shows ``failed``.
"""

from typing import Any

from dagster import HookContext, failure_hook

from ..errors import RequestStateError, describe, error_details
from ..pipeline.callbacks import record_end
from ..pipeline.steps import (
    BAD_INPUT,
    STEP_OUTPUTS,
    materialize_after_failure,
    original_error,
    run_request_id,
    step_outputs,
)

ALL_FILE_TYPES = sorted({t for _, types in STEP_OUTPUTS.values() for t in types})


@failure_hook(required_resource_keys={"database", "files", "callbacks"})
def mark_request_failed(context: HookContext) -> None:
    exc = original_error(context.op_exception)
    if exc is None or isinstance(exc, RequestStateError):
        return
    request_id = run_request_id(context)
    if not request_id:
        context.log.warning("step failed before the run had a request id; no row to update")
        return
    store, files = context.resources.database.store, context.resources.files
    try:
        outputs = step_outputs(context.step_key, context.op.name)
        removed = _remove_files(store, files, request_id, outputs, exc)
    except Exception as cleanup_error:  # the row must end failed even if storage is down
        context.log.warning(f"could not remove the files of request {request_id}: {cleanup_error}")
        removed = None
    message = describe(exc)
    details = error_details(exc, run_id=context.run_id, step=context.step_key)
    if store.fail_request(request_id, message, details):
        context.log.error(f"request {request_id} marked failed: {message}")
        _record_writes(context, request_id, removed, message)
        run = context.instance.get_run_by_id(context.run_id)
        callbacks = context.resources.callbacks
        queued = record_end(store, request_id, run, files.reader_url, callbacks.ui_base_url)
        if queued is not None:
            context.log.info(f"callback queued for request {request_id}: {queued}")


def _remove_files(
    store: Any,
    files: Any,
    request_id: str,
    outputs: tuple[str, list[str]] | None,
    exc: BaseException,
) -> tuple[list[str], bool] | None:
    """Bad input: nothing of the request is worth keeping. Otherwise: what the step half-wrote.
    (A run's scratch goes when the run ends: ``FileStorageResource``.) Returns the
    ``media_files`` types whose rows went and whether the contact sheets went, or None when
    nothing was removed."""
    if isinstance(exc, BAD_INPUT):
        store.replace_rows(request_id, file_types=ALL_FILE_TYPES, replace_sheets=True)
        files.discard_request(request_id)
        return ALL_FILE_TYPES, True
    if outputs is not None:
        folder, types = outputs
        sheets = "contact_sheet" in types
        store.replace_rows(request_id, file_types=types, replace_sheets=sheets)
        files.discard_step(request_id, folder)
        return types, sheets
    return None


def _record_writes(
    context: HookContext,
    request_id: str,
    removed: tuple[list[str], bool] | None,
    message: str,
) -> None:
    """The row's end and the removed files, in the asset catalog (never failing the hook)."""
    where = {"run_id": context.run_id, "step": context.step_key}
    writes: list[tuple[str, dict[str, Any]]] = [
        ("media_analysis_requests", {"status": "failed", "error_message": message})
    ]
    if removed is not None:
        types, sheets = removed
        writes.append(("media_files", {"file_type": ",".join(types), "rows": 0, "removed": True}))
        if sheets:
            writes.append(("contact_sheets", {"rows": 0, "removed": True}))
    for table, metadata in writes:
        try:
            materialize_after_failure(context.instance, table, request_id, **where, **metadata)
        except Exception as exc:  # the catalog is a view; the row is what counts
            context.log.warning(f"could not record the {table} write of {request_id}: {exc}")
