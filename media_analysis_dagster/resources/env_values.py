"""A field that holds a ``dagster.EnvVar`` when the resource was made by hand.

Dagster resolves ``EnvVar`` fields when it sets a resource up for a run or a sensor tick. A
resource built directly (a script, the CLI's helpers, a test calling ``.store``) still holds the
``EnvVar`` itself, whose ``str`` refuses to be read; this reads it the way Dagster would.
"""

from __future__ import annotations

from typing import Any

from dagster import EnvVar


def resolved(value: Any) -> Any:
    """The value of an ``EnvVar`` field (None when the variable is unset), else the value."""
    return value.get_value() if isinstance(value, EnvVar) else value
