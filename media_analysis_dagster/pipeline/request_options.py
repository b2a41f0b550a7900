"""A request's options: run config first, then a pending row's ``user_metadata``.

n8n (or anything) writes pending rows, so ``user_metadata`` is untrusted input. Its option keys
are validated by the same typed model as run config (``RequestConfig``: same types, same
bounds), and a wrong value fails the row with one sentence naming the field, before any file is
written.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..contracts import RequestSpec
from ..errors import InvalidRequestError
from .request_config import ROW_OPTION_KEYS, RequestConfig

_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number"}


def _sentence(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"user_metadata.{field} is invalid: {error['msg'].rstrip('.')}."


def row_options(user_metadata: Any) -> RequestConfig:
    """The option keys of a pending row's ``user_metadata``, validated as run config."""
    if user_metadata is None:
        return RequestConfig()
    if not isinstance(user_metadata, dict):
        kind = _JSON_TYPES.get(type(user_metadata), type(user_metadata).__name__)
        raise InvalidRequestError(f"user_metadata must be a JSON object, not a JSON {kind}.")
    given = {k: user_metadata[k] for k in ROW_OPTION_KEYS if user_metadata.get(k) is not None}
    try:
        return RequestConfig(**given)
    except ValidationError as exc:
        raise InvalidRequestError(_sentence(exc)) from None


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
        return RequestConfig(**raw) if isinstance(raw, dict) else RequestConfig()
    except ValidationError:
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
