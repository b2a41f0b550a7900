"""Failure handling: the request row ends ``failed`` with a reason the moment a step fails.

A step that fails removes the files it half-wrote (its own folder and rows). When the input
itself is bad (``pipeline.steps.BAD_INPUT``), nothing of the request is worth keeping, so all its
files and file rows go. A run that fails because the row was not pending never touches the row.
"""

from typing import Any

from dagster import HookContext, failure_hook

from ..errors import RequestStateError, describe, error_details
from ..pipeline.callbacks import record_end
from ..pipeline.steps import BAD_INPUT, STEP_OUTPUTS, original_error, run_request_id

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
        _remove_files(store, files, request_id, context.op.name, exc)
    except Exception as cleanup_error:  # the row must end failed even if storage is down
        context.log.warning(f"could not remove the files of request {request_id}: {cleanup_error}")
    details = error_details(exc, run_id=context.run_id, step=context.step_key)
    if store.fail_request(request_id, describe(exc), details):
        context.log.error(f"request {request_id} marked failed: {describe(exc)}")
        run = context.instance.get_run_by_id(context.run_id)
        callbacks = context.resources.callbacks
        queued = record_end(store, request_id, run, files.reader_url, callbacks.ui_base_url)
        if queued is not None:
            context.log.info(f"callback queued for request {request_id}: {queued}")


def _remove_files(
    store: Any, files: Any, request_id: str, op_name: str, exc: BaseException
) -> None:
    """Bad input: nothing of the request is worth keeping. Otherwise: what the step half-wrote.
    (A run's scratch goes when the run ends: ``FileStorageResource``.)"""
    if isinstance(exc, BAD_INPUT):
        store.replace_rows(request_id, file_types=ALL_FILE_TYPES, replace_sheets=True)
        files.discard_request(request_id)
    elif op_name in STEP_OUTPUTS:
        folder, types = STEP_OUTPUTS[op_name]
        store.replace_rows(
            request_id, file_types=types, replace_sheets=op_name == "build_contact_sheets"
        )
        files.discard_step(request_id, folder)
