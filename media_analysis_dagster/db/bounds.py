"""The range each numeric column holds, and any value brought into it.

PostgreSQL refuses a number that does not fit its column (``DataError: integer out of range``,
``numeric field overflow``) and fails the whole write, and real inputs do not fit: a huge pixel
aspect ratio turns into a width of 10**30, a provider reports an absurd token count, a division by
zero gives ``inf``. A request should not fail because one of its numbers is absurd, so the column
types in ``safe_types`` store such a value bounded, with a warning:

- beyond the column's range → the nearest end of it (INTEGER ±(2**31 - 1), BIGINT ±(2**63 - 1),
  NUMERIC(p, s) ±(10**(p-s) - 10**-s), DOUBLE PRECISION ±1.8e308);
- NaN or ±infinity → NULL (in a NOT NULL column: 0 for NaN, the range's end for ±infinity);
- ``True``/``False`` → 1/0, a string of digits (``" 42 "``, ``"1e3"``) → its number, anything
  else that is not a number → NULL;
- rounded to the column's scale (half away from zero, as PostgreSQL rounds ``NUMERIC``).
"""

from __future__ import annotations

import logging
import operator
import sys
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

log = logging.getLogger(__name__)

INT32_MAX = Decimal(2**31 - 1)
INT64_MAX = Decimal(2**63 - 1)
FLOAT_MAX = Decimal(sys.float_info.max)


def numeric_max(precision: int, scale: int) -> Decimal:
    """The largest value ``NUMERIC(precision, scale)`` holds: 10**(p-s) - 10**-s."""
    return Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale)


def as_decimal(value: Any) -> Decimal | None:
    """``value`` as an exact decimal (NaN and ±infinity included); ``None`` if it is no number.

    Floats go through their shortest ``repr`` so ``0.1`` stays 0.1, not its binary expansion.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):  # bool included: True → 1
        return Decimal(int(value))
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    try:  # integers of other libraries (numpy.int64) have __index__
        return Decimal(operator.index(value))
    except TypeError:
        pass
    try:
        return Decimal(repr(float(value)))
    except (TypeError, ValueError):
        return None


def bounded(value: Any, limit: Decimal, scale: int | None, *, nullable: bool) -> Decimal | None:
    """``value`` within ±``limit``, rounded to ``scale`` decimals (``None``: not rounded).

    ``None`` means SQL NULL: for ``None`` itself, for what is no number, and for NaN/±infinity
    when ``nullable`` (a NOT NULL column gets 0 or the range's end instead, so the row is kept).
    """
    if value is None:
        return None
    number = as_decimal(value)
    if number is None:
        log.warning("stored NULL for a value that is not a number: %.40r", value)
        return None
    if not number.is_finite():
        if nullable:
            log.warning("stored NULL for %s: the database stores no NaN or infinity", number)
            return None
        number = Decimal(0) if number.is_nan() else limit.copy_sign(number)
    if abs(number) > limit:
        log.warning(
            "stored %s as %s: the nearest value its column holds",
            format(number, ".4g"),
            limit.copy_sign(number),
        )
        return limit.copy_sign(number)
    if scale is None:
        return number
    context = Context(prec=max(1, limit.adjusted() + 1) + scale + 1, rounding=ROUND_HALF_UP)
    rounded = number.quantize(Decimal(1).scaleb(-scale), context=context)
    return rounded if abs(rounded) <= limit else limit.copy_sign(rounded)
