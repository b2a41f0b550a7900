"""A request's options: run config first, then a pending row's ``user_metadata``.

n8n (or anything) writes pending rows, so a row is untrusted input. Its option keys in
``user_metadata`` and its own media columns meet the same validator as run config
(``request_config.check_request``: same types, same bounds, same sentences, the option names
prefixed with ``user_metadata.``), and a wrong value fails the row with that one sentence, before
any file is written.
"""

from __future__ import annotations

from typing import Any

from ..contracts import RequestSpec
from ..errors import InvalidRequestError
from .request_config import ROW_OPTION_KEYS, RequestConfig, check_fields, check_request

ROW_MEDIA_KEYS = ("media_url", "media_path", "media_type")


def row_options(user_metadata: Any) -> RequestConfig:
    """The option keys of a pending row's ``user_metadata``, checked as run config is."""
    if user_metadata is None:
        return RequestConfig()
    if not isinstance(user_metadata, dict):
        return check_fields(user_metadata, where="user_metadata")  # refuses: not an object
    given = {k: user_metadata[k] for k in ROW_OPTION_KEYS if k in user_metadata}
    return check_fields(given, where="user_metadata")


def check_row(row: dict[str, Any]) -> None:
    """A claimed or created row's own media columns and its ``user_metadata`` options, by the
    rules run config meets at launch (a row inserted by hand was never launched)."""
    check_request({k: row.get(k) for k in ROW_MEDIA_KEYS}, where="request row")
    row_options(row.get("user_metadata"))


def request_spec(config: RequestConfig, row: dict[str, Any]) -> RequestSpec:
    """The options every step reads. Run config cannot say "I set this to its default", so an
    option whose run-config value differs from the default wins, and otherwise the pending
    row's ``user_metadata`` value (itself the default when absent) applies."""
    from_row = row_options(row.get("user_metadata"))
    default = RequestConfig()

    def pick(name: str) -> Any:
        mine = getattr(config, name)
        return mine if mine not in (None, getattr(default, name)) else getattr(from_row, name)

    providers = pick("providers")
    return RequestSpec(
        request_id=str(row["request_id"]),
        media_type=row["media_type"],
        media_url=row.get("media_url"),
        media_path=row.get("media_path"),
        prompt=row.get("prompt"),
        providers=tuple(providers) if providers else None,
        provider_options=dict(pick("provider_options") or {}),
        frame_count=pick("frame_count"),
        grid_cols=pick("grid_cols"),
        grid_rows=pick("grid_rows"),
        accurate_frames=bool(pick("accurate_frames")),
        scene_aware=bool(pick("scene_aware")),
        callback_url=pick("callback_url"),
        use_cache=bool(pick("use_cache")),
    )


def run_config_of(run_config: Any) -> RequestConfig:
    """``ops.register_request.config`` of a run's config as a ``RequestConfig`` (defaults when the
    run has none, or a config that no longer validates)."""
    ops = run_config.get("ops") if isinstance(run_config, dict) else None
    raw = ((ops or {}).get("register_request") or {}).get("config")
    try:
        return check_fields(raw) if isinstance(raw, dict) else RequestConfig()
    except InvalidRequestError:
        return RequestConfig()


def callback_url(run_config: Any, row: dict[str, Any] | None) -> str | None:
    """Where a request's end is announced: the same choice ``request_spec`` makes, for code that
    has the run and the row but no ``RequestSpec`` (the sensors, the failure hook)."""
    config = run_config_of(run_config)
    try:
        from_row = row_options((row or {}).get("user_metadata"))
    except InvalidRequestError:  # the row's options were refused: only run config counts
        from_row = RequestConfig()
    return config.callback_url or from_row.callback_url
