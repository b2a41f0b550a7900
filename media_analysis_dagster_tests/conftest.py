"""Shared fixtures: a real PostgreSQL (or a clear failure under CI), per-test databases on
SQLite and PostgreSQL, and an isolated data dir for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.schema import init_database
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.providers.specs import ALL_SPECS
from media_analysis_fixtures import pg

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with pg.admin_url() as url:
        if url is None:
            message = (
                "no PostgreSQL: set MEDIA_ANALYSIS_TEST_DATABASE_URL, start the server on "
                "127.0.0.1:5432, or install initdb/pg_ctl"
            )
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """A database with ``schema/`` applied, cloned for each test (fast CREATE ... TEMPLATE)."""
    name = pg.create_database(pg_admin_url, prefix="ma_tmpl")
    engine = build_engine(pg.with_database(pg_admin_url, name))
    init_database(engine)
    engine.dispose()
    yield name
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def pg_url(pg_admin_url: str, pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database holding the four tables."""
    name = pg.create_database(pg_admin_url, template=pg_template)
    yield pg.with_database(pg_admin_url, name)
    pg.drop_database(pg_admin_url, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tables.db'}"
    engine = build_engine(url)
    init_database(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every database test runs on both backends."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    engine = build_engine(db_url)
    yield Store(engine)
    engine.dispose()


KEY_VARIABLES = [spec.key_env for spec in ALL_SPECS.values()]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's database, data dir or provider keys."""
    for name in list(os.environ):
        if name.startswith(
            ("MEDIA_ANALYSIS_DB_", "DAGSTER_POSTGRES", "MEDIA_ANALYSIS_STORAGE", "AWS_")
        ) or name in {
            "MEDIA_ANALYSIS_S3_ENDPOINT_URL",
            "MEDIA_ANALYSIS_PUBLIC_BASE_URL",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GOOGLE_CLOUD_PROJECT",
            "STORAGE_EMULATOR_HOST",
            "MEDIA_ANALYSIS_DATABASE_URL",
            "SYNC_DATABASE_URL",
            "DATABASE_URL",
            *KEY_VARIABLES,
            "MEDIA_ANALYSIS_MEDIA_ROOTS",
            "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS",
        }:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATA_DIR", str(tmp_path / "data"))
    yield
