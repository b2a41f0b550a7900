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

Numbers get the same treatment (``bounds`` says how): every numeric column stores a value that
does not fit it bounded instead of failing the write. And a JSON column stores Python's ``None``
as SQL ``NULL``, not as the JSON document ``null``, so that n8n's ``WHERE error_details IS NULL``
finds every row that has none.
"""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from .bounds import FLOAT_MAX, INT32_MAX, INT64_MAX, bounded, numeric_max

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
    """A JSON document PostgreSQL's JSONB accepts: strings and keys cleaned, NaN/∞ → null.

    Integers beyond ±2**63 are fine (JSONB keeps them as ``numeric``), but one beyond the range
    of a double (±1.8e308) cannot be written (Python refuses to turn an integer of more than
    4,300 digits into text) nor read by n8n as a number: it becomes ``null`` like ∞. A
    ``Decimal`` becomes a float (JSON has no other number).
    """
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_text(str(k)): safe_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_json(v) for v in value]
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1024:
        log.warning(
            "stored null for a %d-bit integer in JSON: no JSON reader holds it", value.bit_length()
        )
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
    """``JSONB`` on PostgreSQL, ``JSON`` elsewhere (the embedded SQLite).

    ``none_as_null`` (the default here, unlike SQLAlchemy's ``JSON``): ``None`` is SQL ``NULL``
    on both databases; ``JSON.NULL`` still writes the JSON document ``null`` if ever wanted.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, none_as_null: bool = True) -> None:
        super().__init__(none_as_null=none_as_null)
        self.none_as_null = none_as_null

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=self.none_as_null))
        return dialect.type_descriptor(JSON(none_as_null=self.none_as_null))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else safe_json(value)


class SafeInteger(TypeDecorator[int]):
    """``INTEGER``: a value beyond ±(2**31 - 1) is stored as that bound (``bounds``).

    ``nullable=False`` for a NOT NULL column: NaN/∞ become 0/the bound there instead of NULL.
    """

    impl = Integer
    cache_ok = True
    limit = INT32_MAX

    def __init__(self, nullable: bool = True) -> None:
        super().__init__()
        self.nullable = nullable

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        number = bounded(value, self.limit, 0, nullable=self.nullable)
        return None if number is None else int(number)


class SafeBigInteger(SafeInteger):
    """``BIGINT``: a value beyond ±(2**63 - 1) is stored as that bound."""

    impl = BigInteger
    cache_ok = True
    limit = INT64_MAX


class SafeNumeric(TypeDecorator[Decimal]):
    """``NUMERIC(p, s)``: bounded to ±(10**(p-s) - 10**-s) and rounded to ``s`` decimals."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int, nullable: bool = True) -> None:
        super().__init__(precision, scale)
        self.precision, self.scale, self.nullable = precision, scale, nullable
        self.limit = numeric_max(precision, scale)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Decimal | None:
        return bounded(value, self.limit, self.scale, nullable=self.nullable)


class SafeFloat(TypeDecorator[float]):
    """``DOUBLE PRECISION``: NaN/∞ → NULL, an integer beyond ±1.8e308 → that bound."""

    impl = Float
    cache_ok = True

    def __init__(self, nullable: bool = True) -> None:
        super().__init__(precision=53)
        self.nullable = nullable

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        number = bounded(value, FLOAT_MAX, None, nullable=self.nullable)
        return None if number is None else float(number)
