"""``load_settings``: the database URL precedence (README, "Configuration"), every value checked
when the code location loads, and the values reaching the resources the UI shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import EnvVar

from media_analysis_dagster.db.urls import redact_url
from media_analysis_dagster.definitions import build_definitions, build_resources
from media_analysis_dagster.resources import DatabaseResource
from media_analysis_dagster.settings import SettingsError, load_settings

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
    assert load_settings(env).database.url == expected


def test_default_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    s = load_settings({"MEDIA_ANALYSIS_DATA_DIR": str(tmp_path)})
    assert s.database.url == f"sqlite:///{tmp_path}/media_analysis.db"
    assert s.fetch.media_roots == (tmp_path / "inbox",)


def test_media_roots(tmp_path: Path) -> None:
    env = {"MEDIA_ANALYSIS_MEDIA_ROOTS": f"{tmp_path}/a:{tmp_path}/b"}
    assert load_settings(env).fetch.media_roots == (tmp_path / "a", tmp_path / "b")


def test_redact_url_hides_password() -> None:
    assert "secret" not in redact_url("postgresql://u:secret@h/d")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MEDIA_ANALYSIS_DB_POOL_SIZE": "five"}, "MEDIA_ANALYSIS_DB_POOL_SIZE"),
        ({"MEDIA_ANALYSIS_DB_POOL_SIZE": "0"}, "MEDIA_ANALYSIS_DB_POOL_SIZE"),
        ({"MEDIA_ANALYSIS_MAX_MEDIA_BYTES": "2GB"}, "MEDIA_ANALYSIS_MAX_MEDIA_BYTES"),
        ({"MEDIA_ANALYSIS_DATABASE_URL": "not a url"}, "MEDIA_ANALYSIS_DATABASE_URL"),
        ({"MEDIA_ANALYSIS_DATABASE_URL": "postgresql://h:port/x"}, "MEDIA_ANALYSIS_DATABASE_URL"),
        ({"MEDIA_ANALYSIS_STORAGE": "ftp"}, "MEDIA_ANALYSIS_STORAGE"),
        ({"MEDIA_ANALYSIS_STORAGE": "s3"}, "MEDIA_ANALYSIS_STORAGE_BUCKET"),
        (
            {
                "MEDIA_ANALYSIS_STORAGE": "s3",
                "MEDIA_ANALYSIS_STORAGE_BUCKET": "b",
                "MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX": "requests/",
            },
            "MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX",
        ),
        ({"MEDIA_ANALYSIS_WHISPER_MODEL": "/nowhere/model"}, "MEDIA_ANALYSIS_WHISPER_MODEL"),
        ({"MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "10.0.0.0/33"}, "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"),
        ({"MEDIA_ANALYSIS_CALLBACK_ALLOW": "bad host!"}, "MEDIA_ANALYSIS_CALLBACK_ALLOW"),
        ({"MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S": "soon"}, "MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S"),
        ({"MEDIA_ANALYSIS_SCENE_THRESHOLD": "300"}, "MEDIA_ANALYSIS_SCENE_THRESHOLD"),
        ({"MEDIA_ANALYSIS_BUDGET_USD": "ten"}, "MEDIA_ANALYSIS_BUDGET_USD"),
        ({"MEDIA_ANALYSIS_SENSOR_BATCH": "-1"}, "MEDIA_ANALYSIS_SENSOR_BATCH"),
    ],
)
def test_a_bad_value_fails_at_load_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable) as caught:
        load_settings(env)
    assert "\n" not in str(caught.value)


def test_a_bad_value_fails_the_code_location_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_DB_POOL_SIZE", "many")
    with pytest.raises(SettingsError, match="MEDIA_ANALYSIS_DB_POOL_SIZE"):
        build_definitions()


def test_values_reach_the_resources_as_fields(tmp_path: Path) -> None:
    """What the UI's resource view shows is what is in force."""
    env = {
        "MEDIA_ANALYSIS_DATA_DIR": str(tmp_path),
        "MEDIA_ANALYSIS_DB_POOL_SIZE": "3",
        "MEDIA_ANALYSIS_DB_MAX_OVERFLOW": "1",
        "MEDIA_ANALYSIS_MAX_MEDIA_BYTES": "1000",
        "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "10.0.0.0/8",
        "MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S": "7",
        "MEDIA_ANALYSIS_CACHE_MAX_AGE_S": "60",
        "MEDIA_ANALYSIS_SCENE_THRESHOLD": "25",
        "MEDIA_ANALYSIS_WHISPER_MODEL": "off",
        "MEDIA_ANALYSIS_CALLBACK_ALLOW": "n8n.internal",
    }
    r = build_resources(load_settings(env))
    assert (r["database"].pool_size, r["database"].max_overflow) == (3, 1)
    assert r["fetcher"].max_download_bytes == 1000
    assert r["fetcher"].allow_private_urls == "10.0.0.0/8"
    assert r["providers"].timeout_s == 7.0 and r["providers"].cache_max_age_s == 60
    assert r["providers"].scene_threshold == 25.0 and r["providers"].whisper_model is None
    assert r["callbacks"].allow == "n8n.internal"
    assert r["files"].data_dir == str(tmp_path)


def test_secrets_reach_resources_as_env_vars_only() -> None:
    env = {
        "MEDIA_ANALYSIS_DATABASE_URL": "postgresql://u:hunter2@db/x",
        "OPENAI_API_KEY": "sk-test",
        "MEDIA_ANALYSIS_CALLBACK_SECRET": "s3cret",
        "MEDIA_ANALYSIS_STORAGE": "s3",
        "MEDIA_ANALYSIS_STORAGE_BUCKET": "b",
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "shh",
    }
    r = build_resources(load_settings(env))
    assert isinstance(r["database"].url, EnvVar)
    assert r["database"].url.env_var_name == "MEDIA_ANALYSIS_DATABASE_URL"
    assert isinstance(r["providers"].openai_api_key, EnvVar)
    assert isinstance(r["callbacks"].secret, EnvVar)
    assert isinstance(r["files"].secret_access_key, EnvVar)
    shown = repr(r)
    for secret in ("hunter2", "sk-test", "s3cret", "shh"):
        assert secret not in shown


def test_seed_password_variable_is_an_env_var() -> None:
    r = build_resources(load_settings(SEED_DB))
    assert "p@ss" not in str(r["database"].url)
    assert r["database"].password.env_var_name == "MEDIA_ANALYSIS_DB_PASSWORD"


def test_pool_size_reaches_the_engine_of_a_run_and_a_sensor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str
) -> None:
    """``MEDIA_ANALYSIS_DB_POOL_SIZE`` is per process: the engine a run or a sensor tick builds
    through the wired resource has that pool."""
    from dagster import build_sensor_context, instance_for_test, job, op

    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", pg_url)
    monkeypatch.setenv("MEDIA_ANALYSIS_DB_POOL_SIZE", "3")
    monkeypatch.setenv("MEDIA_ANALYSIS_DB_MAX_OVERFLOW", "2")
    defs = build_definitions()
    database = defs.resources["database"]  # type: ignore[index]
    seen: list[tuple[int, int]] = []

    @op
    def pool_of_the_run(database: DatabaseResource) -> None:
        pool = database.store.engine.pool
        seen.append((pool.size(), pool._max_overflow))  # type: ignore[attr-defined]

    @job
    def probe() -> None:
        pool_of_the_run()

    assert probe.execute_in_process(resources={"database": database}).success
    assert seen == [(3, 2)]
    seen.clear()
    sensor_def = defs.resolve_sensor_def("pending_requests_sensor")
    with (
        instance_for_test() as instance,
        build_sensor_context(instance=instance, resources={"database": database}) as context,
    ):
        sensor_def(context)
        engine = context.resources.database.store.engine
        seen.append((engine.pool.size(), engine.pool._max_overflow))
    assert seen == [(3, 2)]
