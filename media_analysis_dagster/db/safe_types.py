"""Column types that make every value storable in PostgreSQL, whatever its source.

PostgreSQL refuses NUL (``\\u0000``) in ``TEXT`` and in ``JSONB`` strings, text that is not
valid UTF-8 (lone surrogates), ``NaN``/``Infinity`` in JSON, and strings longer than a
``VARCHAR(n)``. Real inputs carry all of these: ImageMagick writes NUL into PDF metadata, a
prompt or a file name can hold anything, an analysis can produce a NaN. Every column of the four
tables that holds text or JSON uses these types, so the cleaning happens in one place — on the
way into the database — for ORM inserts and the store's ``UPDATE`` statements alike.

What is changed is recorded in the value itself: a NUL becomes U+FFFD (the Unicode replacement
character), a cut string ends with ``…``, a non-finite number becomes ``null``; and a warning
is logged.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import JSON, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

log = logging.getLogger(__name__)
REPLACEMENT = "\ufffd"


def safe_text(value: str) -> str:
    """``value`` without NUL and with anything that is not valid UTF-8 replaced."""
    cleaned = value
    if "\x00" in cleaned:
        log.warning(
            "replaced %d NUL character(s) with U+FFFD: PostgreSQL cannot store NUL",
            cleaned.count("\x00"),
        )
        cleaned = cleaned.replace("\x00", REPLACEMENT)
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")
    return cleaned


def safe_json(value: Any) -> Any:
    """A JSON document PostgreSQL's JSONB accepts: strings and keys cleaned, NaN/∞ → null."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class SafeText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else safe_text(str(value))


class SafeString(TypeDecorator[str]):
    """``VARCHAR(n)``: also cut to ``n`` characters (ending in ``…``) instead of failing."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = safe_text(str(value))
        limit = getattr(self.impl_instance, "length", None)
        if limit and len(text) > limit:
            log.warning("cut a %d-character value to its column's %d", len(text), limit)
            text = text[: limit - 1] + "…"
        return text


class SafeJson(TypeDecorator[Any]):
    """``JSONB`` on PostgreSQL, ``JSON`` elsewhere (the embedded SQLite)."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else safe_json(value)
