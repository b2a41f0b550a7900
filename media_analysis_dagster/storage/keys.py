"""Artifact keys: relative, stable, the same on every backend.

A key is ``requests/<request_id>/<step>/<file name>``. The local backend stores it under the
data dir (today's layout); object stores put it under the configured prefix, so the key a
row records never changes when the storage location or prefix does.
"""

from __future__ import annotations

from .errors import InvalidKeyError

REQUESTS = "requests"


def _component(value: object, what: str) -> str:
    text = str(value)
    if (
        not text
        or text in {".", ".."}
        or "/" in text
        or "\\" in text
        or "\x00" in text
        or text != text.strip()
    ):
        raise InvalidKeyError(f"The {what} '{text}' cannot be part of a storage key.")
    return text


def request_prefix(request_id: object) -> str:
    """``requests/<request_id>/``: everything one request stored, for ``list``/``delete_prefix``."""
    return f"{REQUESTS}/{_component(request_id, 'request id')}/"


def step_prefix(request_id: object, step: str) -> str:
    """``requests/<request_id>/<step>/``: one step's files (emptied when a step re-runs)."""
    return f"{request_prefix(request_id)}{_component(step, 'step name')}/"


def artifact_key(request_id: object, step: str, name: str) -> str:
    """``requests/<request_id>/<step>/<name>``."""
    return f"{step_prefix(request_id, step)}{_component(name, 'file name')}"


def check_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a clean relative key; a prefix may end with ``/`` (or be partial).

    Refused: empty, absolute, backslashes, NUL, empty or ``.``/``..`` components.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKeyError(f"The storage {'prefix' if prefix else 'key'} must not be empty.")
    body = key[:-1] if prefix and key.endswith("/") else key
    parts = body.split("/")
    if (
        key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in {"", ".", ".."} for part in parts)
    ):
        raise InvalidKeyError(f"The storage key '{key}' is not a clean relative path.")
    return key
