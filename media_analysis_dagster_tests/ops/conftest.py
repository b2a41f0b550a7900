from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import instance_for_test

from media_analysis_fixtures.fake_providers import FakeProviders

from .harness import Pipeline, make_pipeline


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[Pipeline]:
    """The job on SQLite and on PostgreSQL (``db_url`` is parametrized over both)."""
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, db_url, instance)


@pytest.fixture
def sqlite_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> Iterator[Pipeline]:
    """For failure-path tests whose logic does not depend on the database backend."""
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, sqlite_url, instance)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """The providers' wire formats on 127.0.0.1, with quick retries (no keys set here)."""
    with FakeProviders() as server:
        monkeypatch.setenv("MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S", "0.05")
        yield server
