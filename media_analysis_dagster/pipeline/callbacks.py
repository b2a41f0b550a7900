"""Completion callbacks, recorded when a request ends and delivered apart from the run.

Every path that ends a request (``complete_request``, the failure hook, the run-status and
cancellation sensors, retention's stuck check) calls :func:`record_end` only when its own update
ended the row, so an end is announced once. Recording builds the one JSON document a receiver
gets (``build_payload``) and queues it in ``media_analysis_callbacks`` under its delivery id
(``<request_id>:<status>:<run_id>``; recording the same end twice queues one delivery). The
``callback_delivery_sensor`` (``triggers/callback_delivery.py``) then POSTs it, signed, and
retries with backoff until the receiver accepts it or the attempts run out: at least once, with a
stable delivery id the receiver can drop duplicates by. A receiver that hangs therefore holds no
run slot and delays no other request's completion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..net.webhooks import delivery_id
from .request_options import callback_url

EVENT = "media_analysis.request.finished"
STATUSES = ("completed", "failed", "cancelled")
TEXT_LIMIT = 4000  # characters of summary / error text carried in a callback
_DETAIL_KEYS = ("run_id", "step", "error_type", "message", "hint", "hints")


class CallbackError(ValueError):
    """A callback document that cannot be built (an unknown status)."""


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= TEXT_LIMIT:
        return text
    return text[: TEXT_LIMIT - 1] + "…"


def build_payload(
    *,
    request_id: str,
    status: str,
    dagster_run_id: str | None,
    error_message: str | None = None,
    error_details: Mapping[str, Any] | None = None,
    summary: str | None = None,
    result_types: Sequence[str] = (),
    files: Sequence[Mapping[str, Any]] = (),
    api_costs: Mapping[str, Any] | None = None,
    ui_base_url: str | None = None,
    finished_at: str | None = None,
) -> dict[str, Any]:
    """The one JSON document a receiver gets when a request ends.

    It carries what a workflow needs to carry on without querying the tables (status, the
    summary text, which results exist, where the files are, costs) but never the full result
    contents, so it stays small. ``error_details`` is cut to its readable keys; ``files`` are
    ``{file_type, file_name, url}`` (``url``: the ``remote_url`` or path a reader can use).
    """
    if status not in STATUSES:
        raise CallbackError(f"A callback status must be one of {', '.join(STATUSES)}.")
    details = {k: error_details[k] for k in _DETAIL_KEYS if error_details and k in error_details}
    if isinstance(details.get("message"), str):
        details["message"] = _clip(details["message"])
    ui_url = None
    if ui_base_url and dagster_run_id:
        ui_url = f"{ui_base_url.rstrip('/')}/runs/{dagster_run_id}"
    return {
        "event": EVENT,
        "request_id": str(request_id),
        "status": status,
        "error_message": _clip(error_message),
        "error_details": details or None,
        "summary": _clip(summary),
        "result_types": sorted(set(result_types)),
        "files": [
            {"file_type": f.get("file_type"), "file_name": f.get("file_name"), "url": f.get("url")}
            for f in files
        ],
        "api_costs": dict(api_costs) if api_costs else {},
        "dagster_run_id": dagster_run_id,
        "dagster_ui_url": ui_url,
        "finished_at": finished_at,
    }


def payload_of(
    row: Mapping[str, Any],
    run_id: str | None,
    reader_url: Callable[[dict[str, Any]], str | None],
    ui_base_url: str | None,
) -> dict[str, Any]:
    """The payload of a request row read with its children (``Store.get_request``)."""
    results = row.get("results") or []
    summary = next((r["content"] for r in results if r["result_type"] == "summary"), None)
    return build_payload(
        request_id=str(row["request_id"]),
        status=row["status"],
        dagster_run_id=run_id,
        error_message=row.get("error_message"),
        error_details=row.get("error_details"),
        summary=summary,
        result_types=[r["result_type"] for r in results],
        files=[{**f, "url": reader_url(f)} for f in row.get("files") or []],
        api_costs=row.get("api_costs"),
        ui_base_url=ui_base_url,
        finished_at=str(row.get("completed_at") or ""),
    )


def record_end(
    store: Any,
    request_id: str,
    run: Any,
    reader_url: Callable[[dict[str, Any]], str | None],
    ui_base_url: str | None,
) -> str | None:
    """Queue the callback of a request that just ended; its delivery id, or None when the
    request asked for none (no ``callback_url`` in the run's config or the row's options)."""
    row = store.get_request(request_id)
    url = callback_url(getattr(run, "run_config", None), row)
    if row is None or not url or row["status"] not in STATUSES:
        return None
    payload = payload_of(row, getattr(run, "run_id", None), reader_url, ui_base_url)
    key = delivery_id(payload)
    store.enqueue_callback(request_id, key, url, payload)
    return key
