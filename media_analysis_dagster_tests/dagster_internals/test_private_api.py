"""The private Dagster surface: all of it loads on the pinned Dagster, it is imported nowhere
else, and a moved symbol fails with one message that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media_analysis_dagster.dagster_internals import private_api

PACKAGE = Path(private_api.__file__).resolve().parents[1]


def test_every_private_symbol_loads_on_the_pinned_dagster() -> None:
    missing = private_api.check()
    assert not missing, "\n".join(missing)


def test_dagster_private_modules_are_used_only_in_dagster_internals() -> None:
    private = re.compile(r"^\s*(from|import)\s+dagster\._", re.M)
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if private.search(path.read_text()) and path.parent.name != "dagster_internals"
    ]
    assert offenders == []


def test_a_moved_symbol_fails_with_one_message_naming_it() -> None:
    with pytest.raises(private_api.DagsterPrivateApiMoved) as caught:
        private_api.load("dagster._core.execution.plan.active", "ActiveExecutionMoved")
    message = str(caught.value)
    assert "dagster._core.execution.plan.active.ActiveExecutionMoved" in message
    assert "dagster_internals" in message and "\n" not in message
