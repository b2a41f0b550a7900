"""What every table model shares: the declarative base, column defaults, named constraints.

The models must agree with ``schema/*.sql`` on PostgreSQL (a test compares both), so CHECK and
foreign-key constraints carry the names PostgreSQL gives the SQL files' inline constraints.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, func, text
from sqlalchemy.orm import DeclarativeBase

from ..safe_types import SafeJson

# ``None`` is SQL NULL in every JSON column (n8n tests ``error_details IS NULL``).
JsonB = SafeJson(none_as_null=True)
NOW = func.now()
NEW_UUID = text("gen_random_uuid()")


class Base(DeclarativeBase):
    pass


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def check_in(table: str, column: str, values: tuple[str, ...]) -> CheckConstraint:
    """``CHECK (column IN (...))`` named as PostgreSQL names an inline one."""
    return CheckConstraint(_in(column, values), name=f"{table}_{column}_check")


def request_fk(table: str) -> ForeignKey:
    """``REFERENCES media_analysis_requests(request_id) ON DELETE CASCADE``: a child row goes
    with its request (retention and failure cleanup delete only the request)."""
    return ForeignKey(
        "media_analysis_requests.request_id",
        ondelete="CASCADE",
        name=f"{table}_request_id_fkey",
    )
