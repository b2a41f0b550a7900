from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import instance_for_test

from ..ops.harness import Pipeline, make_pipeline


@pytest.fixture
def sqlite_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> Iterator[Pipeline]:
    """The wired job on SQLite (the report reads the row dicts, alike on both databases)."""
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, sqlite_url, instance)
