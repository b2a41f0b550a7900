"""The Celery deployment's files and the checks that need no worker: ``deploy/celery/`` loads as
what Dagster and dagster-celery expect, a configuration that cannot work across hosts fails
when the code location loads (``settings.py``), and the launcher's health check and termination
against a real broker with no worker (a throwaway ``redis-server``)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, instance_for_test

from media_analysis_dagster.dagster_internals.celery_launcher import CeleryRunLauncher
from media_analysis_dagster.settings import SettingsError, load_settings
from media_analysis_fixtures.celery import (
    CELERY_DIR,
    INSTANCE,
    WORKER_CONFIG,
    CeleryWorker,
    RedisBroker,
    celery_instance,
)
from media_analysis_fixtures.processes import ROOT
from media_analysis_fixtures.stack import merge

from .celery_checks import need_redis_server

CELERY_ONLY = {"run_launcher", "concurrency", "run_monitoring"}
BROKER_ENV = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:6399/0",
    "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6399/1",
}
REMOTE = {
    "MEDIA_ANALYSIS_STORAGE": "s3",
    "MEDIA_ANALYSIS_STORAGE_BUCKET": "media",
    "MEDIA_ANALYSIS_DATABASE_URL": "postgresql://media@db.internal/media_analysis",
    "DAGSTER_POSTGRES_URL": "postgresql://dagster@db.internal/dagster",
}


@pytest.fixture
def celery_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(INSTANCE, home / "dagster.yaml")
    return home


# -- deploy/celery -------------------------------------------------------------------------------
def test_the_celery_instance_loads_with_the_checked_launcher(
    celery_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in BROKER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)
    instance = DagsterInstance.from_config(str(celery_home))
    try:
        launcher = instance.run_launcher
        assert isinstance(launcher, CeleryRunLauncher)
        assert launcher.broker == BROKER_ENV["CELERY_BROKER_URL"]
        assert launcher.backend == BROKER_ENV["CELERY_RESULT_BACKEND"]
        assert launcher.supports_check_run_worker_health and launcher.silence_grace_s == 20
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 0
        assert instance.run_monitoring_settings["poll_interval_seconds"] == 10
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 30
        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None and queue.max_concurrent_runs == 3
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
    finally:
        instance.dispose()


def test_the_celery_instance_keeps_every_other_production_setting() -> None:
    """Only the launcher, the run limit and run monitoring differ from the root dagster.yaml, and
    the test stack (the root file merged with this one) runs this file exactly."""
    root = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    celery = celery_instance()
    assert set(root) - CELERY_ONLY == set(celery) - CELERY_ONLY
    for key in set(root) - CELERY_ONLY:
        assert celery[key] == root[key], key
    assert celery["concurrency"]["pools"] == root["concurrency"]["pools"]
    assert merge(root, celery) == celery


def test_the_worker_config_is_what_dagster_celery_workers_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dagster_celery.cli import get_validated_config

    for name, value in BROKER_ENV.items():
        monkeypatch.setenv(name, value)
    config = get_validated_config(str(WORKER_CONFIG))
    assert config["broker"] == BROKER_ENV["CELERY_BROKER_URL"]
    assert config["backend"] == BROKER_ENV["CELERY_RESULT_BACKEND"]
    source = config["config_source"]
    assert source["worker_max_tasks_per_child"] == 1 and source["worker_disable_prefetch"]
    launcher = celery_instance()["run_launcher"]["config"]["config_source"]
    for key in ("result_expires", "result_backend_always_retry"):
        assert source[key] == launcher[key], key


def test_commands_start_the_worker_the_tests_start() -> None:
    script = CELERY_DIR / "commands.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text().replace("\\\n", " ")
    command = CeleryWorker("w", Path("/x"), {}).command()
    wanted = " ".join(command[1:]).replace(str(WORKER_CONFIG), '"$HERE/worker.yaml"')
    wanted = wanted.replace(" -n w ", ' -n "$name" ').replace("--concurrency 1", "--concurrency")
    assert wanted in " ".join(text.split()), wanted


# -- settings.py: what cannot work across hosts fails when the code location loads ---------------
def _load(home: Path | None, **env: str) -> Any:
    values = {"MEDIA_ANALYSIS_WHISPER_MODEL": "off", **env}
    if home is not None:
        values["DAGSTER_HOME"] = str(home)
    return load_settings(values)


def test_local_files_and_sqlite_with_a_remote_launcher_fail_in_one_sentence(
    celery_home: Path,
) -> None:
    with pytest.raises(SettingsError) as caught:
        _load(celery_home)
    message = str(caught.value)
    assert message.startswith(f"{celery_home}/dagster.yaml starts runs on other hosts")
    assert "(CeleryRunLauncher)" in message and message.endswith(".") and "\n" not in message
    for variable in (
        "MEDIA_ANALYSIS_STORAGE",
        "MEDIA_ANALYSIS_DATABASE_URL",
        "DAGSTER_POSTGRES_URL",
    ):
        assert variable in message


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("MEDIA_ANALYSIS_STORAGE", "artifacts (MEDIA_ANALYSIS_STORAGE=local"),
        ("MEDIA_ANALYSIS_DATABASE_URL", "the tables (SQLite"),
        ("DAGSTER_POSTGRES_URL", "Dagster's storage (SQLite"),
    ],
)
def test_each_local_part_is_named_alone(celery_home: Path, missing: str, named: str) -> None:
    env = {k: v for k, v in REMOTE.items() if k != missing}
    if missing == "MEDIA_ANALYSIS_STORAGE":
        env.pop("MEDIA_ANALYSIS_STORAGE_BUCKET")
    with pytest.raises(SettingsError) as caught:
        _load(celery_home, **env)
    assert named in str(caught.value) and str(caught.value).count("(SQLite") <= 1


def test_everything_remote_loads(celery_home: Path) -> None:
    settings = _load(celery_home, **REMOTE)
    assert settings.storage.config.kind == "s3"


@pytest.mark.parametrize(
    "instance",
    [
        None,  # no dagster.yaml at all
        {"run_launcher": {"module": "dagster", "class": "DefaultRunLauncher"}},
        yaml.safe_load((ROOT / "dagster.yaml").read_text()),
    ],
)
def test_runs_on_this_host_may_keep_everything_local(
    tmp_path: Path, instance: dict[str, Any] | None
) -> None:
    if instance is not None:
        (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    assert _load(tmp_path).storage.config.kind == "local"


def test_a_kubernetes_instance_with_postgres_storage_needs_only_the_bucket(tmp_path: Path) -> None:
    """The shape the Helm chart renders: ``storage: postgres`` and ``K8sRunLauncher``."""
    instance = {
        "run_launcher": {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {}},
        "storage": {"postgres": {"postgres_db": {"hostname": "db", "username": "d"}}},
    }
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    env = {k: v for k, v in REMOTE.items() if k != "DAGSTER_POSTGRES_URL"}
    assert _load(tmp_path, **env).storage.config.kind == "s3"
    with pytest.raises(SettingsError, match=r"\(K8sRunLauncher\).*MEDIA_ANALYSIS_STORAGE=local"):
        _load(tmp_path, MEDIA_ANALYSIS_DATABASE_URL=REMOTE["MEDIA_ANALYSIS_DATABASE_URL"])


def test_the_code_location_does_not_load(
    celery_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from media_analysis_dagster.definitions import build_definitions

    monkeypatch.setenv("DAGSTER_HOME", str(celery_home))
    with pytest.raises(SettingsError, match="starts runs on other hosts"):
        build_definitions()


# -- the launcher against a broker with no worker -------------------------------------------------
@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RedisBroker]:
    need_redis_server()
    server = RedisBroker(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def _started_run(instance: DagsterInstance, task_id: str) -> DagsterRun:
    run = DagsterRun(
        job_name="media_analysis_job",
        run_id=str(uuid.uuid4()),
        status=DagsterRunStatus.STARTED,
        tags={"dagster-celery/task_id": task_id, "media_analysis/run_worker": "hostx:4242:99"},
    )
    return instance.add_run(run)


def _launcher(url: str, backend: str, **kwargs: Any) -> CeleryRunLauncher:
    return CeleryRunLauncher(broker=url, backend=backend, default_queue="dagster", **kwargs)


def test_an_unreachable_broker_fails_no_run(tmp_path: Path) -> None:
    """Nothing can be known without the broker: the run is left running, not failed."""
    from media_analysis_fixtures.processes import free_port

    closed = f"redis://127.0.0.1:{free_port()}/0"
    launcher = _launcher(closed, closed, inspect_timeout_s=0.5)
    with instance_for_test() as instance:
        launcher.register_instance(instance)
        result = launcher.check_run_worker_health(_started_run(instance, "task-1"))
    assert result.status.value == "RUNNING" and "broker cannot be reached" in result.msg


def test_a_run_no_worker_reports_is_failed_after_the_grace_and_not_retried(
    broker: RedisBroker,
) -> None:
    launcher = _launcher(broker.url, broker.backend_url, inspect_timeout_s=0.5, silence_grace_s=1)
    with instance_for_test() as instance:
        launcher.register_instance(instance)
        run = _started_run(instance, "task-nobody-runs")
        first = launcher.check_run_worker_health(run)
        assert first.status.value == "RUNNING", first  # within the grace
        time.sleep(1.2)
        second = launcher.check_run_worker_health(run)
        assert second.status.value == "FAILED", second
        failed = instance.get_run_by_id(run.run_id)
        assert failed is not None and failed.status == DagsterRunStatus.FAILURE
        assert failed.tags["dagster/max_retries"] == "0"
    assert second.msg.startswith("The run worker (pid 4242 on host hostx) is gone: no worker")


def test_terminate_records_canceling_before_it_revokes(broker: RedisBroker) -> None:
    launcher = _launcher(broker.url, broker.backend_url)
    with instance_for_test() as instance:
        launcher.register_instance(instance)
        run = _started_run(instance, "task-to-stop")
        assert launcher.terminate(run.run_id)
        stopped = instance.get_run_by_id(run.run_id)
        assert stopped is not None and stopped.status == DagsterRunStatus.CANCELING
        assert not launcher.terminate(str(uuid.uuid4())), "an unknown run"
