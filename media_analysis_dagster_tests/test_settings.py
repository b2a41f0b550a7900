"""The database URL precedence of DESIGN.md §3, and the other settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_analysis_dagster import settings

SEED_DB = {
    "MEDIA_ANALYSIS_DB_HOST": "af-postgres-1",
    "MEDIA_ANALYSIS_DB_PORT": "5433",
    "MEDIA_ANALYSIS_DB_NAME": "af-memory",
    "MEDIA_ANALYSIS_DB_USER": "n8n",
    "MEDIA_ANALYSIS_DB_PASSWORD": "p@ss/word",
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {
                "MEDIA_ANALYSIS_DATABASE_URL": "postgresql://a@h/x",
                "SYNC_DATABASE_URL": "postgresql://b@h/y",
                "DATABASE_URL": "postgresql+asyncpg://c@h/z",
                **SEED_DB,
            },
            "postgresql://a@h/x",
        ),
        (
            {
                "SYNC_DATABASE_URL": "postgresql://b@h/y",
                "DATABASE_URL": "postgresql+asyncpg://c@h/z",
                **SEED_DB,
            },
            "postgresql://b@h/y",
        ),
        (
            {"DATABASE_URL": "postgresql+asyncpg://c:pw@h:5432/z", **SEED_DB},
            "postgresql://c:pw@h:5432/z",
        ),
        ({"DATABASE_URL": "postgres://c@h/z"}, "postgresql://c@h/z"),
        (SEED_DB, "postgresql://n8n:p%40ss%2Fword@af-postgres-1:5433/af-memory"),
        (
            {"MEDIA_ANALYSIS_DATABASE_URL": "  ", "SYNC_DATABASE_URL": "sqlite:////tmp/a.db"},
            "sqlite:////tmp/a.db",
        ),
        ({"MEDIA_ANALYSIS_DATA_DIR": "/srv/ma"}, "sqlite:////srv/ma/media_analysis.db"),
    ],
)
def test_database_url_precedence(env: dict[str, str], expected: str) -> None:
    assert settings.database_url(env) == expected


def test_default_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    env = {"MEDIA_ANALYSIS_DATA_DIR": str(tmp_path)}
    assert settings.database_url(env) == f"sqlite:///{tmp_path}/media_analysis.db"
    assert settings.media_roots(env) == [tmp_path / "inbox"]


def test_media_roots(tmp_path: Path) -> None:
    env = {"MEDIA_ANALYSIS_MEDIA_ROOTS": f"{tmp_path}/a:{tmp_path}/b"}
    assert settings.media_roots(env) == [tmp_path / "a", tmp_path / "b"]


def test_redact_url_hides_password() -> None:
    assert "secret" not in settings.redact_url("postgresql://u:secret@h/d")
