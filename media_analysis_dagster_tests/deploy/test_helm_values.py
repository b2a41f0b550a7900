"""deploy/helm/values.yaml, checked as far as possible without a cluster or ``helm``.

Two things can break a Kubernetes deployment silently: a key the chart does not know (Helm
ignores it, or the chart's JSON schema refuses the release at install time), and instance
config that Dagster refuses when the pods start. So:

- every key path the values set must be a key of the chart's values at the pinned version
  (``chart_keys.json``, extracted from the chart's schema models in dagster-io/dagster);
- the instance ``dagster.yaml`` the chart would render from these values (run launcher,
  Dagster's PostgreSQL storage, run queue, concurrency, monitoring, retries — mirrored from the
  chart's ``configmap-instance`` templates below) must pass Dagster's own instance schema, and
  each configurable class's config must pass that class's ``config_type()`` (``K8sRunLauncher``
  from dagster-k8s, the ``dagster_postgres`` storages);
- run pods get object storage, not a shared volume, and the same module as the Dockerfile.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._serdes.config_class import class_from_code_pointer

from media_analysis_dagster import settings

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy/helm/values.yaml"
CHART_KEYS = Path(__file__).with_name("chart_keys.json")
NAMESPACE = "media-analysis"  # what `.Release.Namespace` would be
RELEASE = "dagster"
# What the chart's _run-coordinator.tpl writes in every (pre-1.13) version the code index holds;
# dagster 1.13.27 has only dagster._core.run_coordinator, so the values leave runCoordinator
# disabled and get the same coordinator as Dagster's default.
CHART_RUN_COORDINATOR_MODULE = "dagster.core.run_coordinator"


def _values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def _key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every leaf path of the values, lists as ``[]``; empty dicts/lists are leaves too."""
    if isinstance(node, Mapping) and node:
        for key, child in node.items():
            yield from _key_paths(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and node:
        for child in node:
            yield from _key_paths(child, f"{prefix}[]")
    else:
        yield prefix


def _unknown_keys(values: Mapping[str, Any]) -> list[str]:
    allowed = json.loads(CHART_KEYS.read_text())["paths"]
    exact = {p for p in allowed if not p.endswith(".*")}
    subtrees = tuple(p[:-2] for p in allowed if p.endswith(".*"))

    def known(path: str) -> bool:
        return (
            path in exact
            or any(path == s or path.startswith((s + ".", s + "[]")) for s in subtrees)
            or any(e.startswith(path + ".") for e in exact)  # an empty mapping above known keys
        )

    return sorted({p for p in _key_paths(values) if not known(p)})


# --- the instance the chart renders ---------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _render_run_launcher(values: Mapping[str, Any]) -> dict[str, Any]:
    """``dagsterYaml.runLauncher.k8s`` (templates/helpers/instance/_run-launcher.tpl)."""
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    k8s = {
        "loadInclusterConfig": True,
        "envConfigMaps": [],
        "envSecrets": [],
        "envVars": [],
        "volumeMounts": [],
        "volumes": [],
    } | values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s["loadInclusterConfig"],
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": f"{RELEASE}",
        "dagster_home": values.get("global", {}).get("dagsterHome", "/opt/dagster/dagster_home"),
        "instance_config_map": f"{RELEASE}-instance",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    if k8s.get("kubeconfigFile"):
        config["kubeconfig_file"] = k8s["kubeconfigFile"]
    if "image" in k8s:
        config["job_image"] = f"{k8s['image']['repository']}:{k8s['image']['tag']}"
    if k8s["envConfigMaps"]:
        config["env_config_maps"] = [c["name"] for c in k8s["envConfigMaps"] if "name" in c]
    if k8s["envSecrets"]:
        config["env_secrets"] = [s["name"] for s in k8s["envSecrets"] if "name" in s]
    for key in ("envVars", "volumeMounts", "volumes", "labels", "resources", "securityContext"):
        if k8s.get(key):
            config[_snake(key)] = k8s[key]
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if k8s.get("schedulerName"):
        config["scheduler_name"] = k8s["schedulerName"]
    if k8s.get("runK8sConfig"):
        config["run_k8s_config"] = {_snake(k): v for k, v in k8s["runK8sConfig"].items() if v}
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _render_postgres(values: Mapping[str, Any]) -> dict[str, Any]:
    """``dagsterYaml.postgresql.config`` (helm/dagster/templates/helpers/_helpers.tpl)."""
    pg = values["postgresql"]
    db: dict[str, Any] = {
        "username": pg["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": pg["postgresqlHost"],
        "db_name": pg["postgresqlDatabase"],
        "port": pg["service"]["port"],
        "params": pg.get("postgresqlParams", {}),
    }
    if pg.get("postgresqlScheme"):
        db["scheme"] = pg["postgresqlScheme"]
    return {"postgres_db": db}


def _render_daemon_parts(values: Mapping[str, Any]) -> dict[str, Any]:
    """Run queue, monitoring and retries (configmap-instance.yaml, _run-coordinator.tpl)."""
    daemon = values["dagsterDaemon"]
    out: dict[str, Any] = {}
    coordinator = daemon["runCoordinator"]
    if coordinator["enabled"]:
        assert coordinator["type"] == "QueuedRunCoordinator"
        queued = coordinator["config"]["queuedRunCoordinator"]
        out["run_coordinator"] = {
            "module": CHART_RUN_COORDINATOR_MODULE,
            "class": "QueuedRunCoordinator",
            "config": {_snake(k): v for k, v in queued.items()},
        }
    if daemon["runMonitoring"]["enabled"]:
        out["run_monitoring"] = {_snake(k): v for k, v in daemon["runMonitoring"].items()}
    if daemon["runRetries"]["enabled"]:
        out["run_retries"] = {_snake(k): v for k, v in daemon["runRetries"].items()}
    return out


def _render_concurrency(values: Mapping[str, Any]) -> dict[str, Any]:
    """``dagsterYaml.concurrency`` (helm/dagster/templates/helpers/instance/_concurrency.tpl)."""
    conc = values.get("concurrency", {})
    if not conc.get("enabled"):
        return {}
    runs = conc.get("runs", {})
    return {
        "concurrency": {
            "pools": {_snake(k): v for k, v in conc.get("pools", {}).items()},
            "runs": {_snake(k): v for k, v in runs.items()},
        }
    }


def render_instance(values: Mapping[str, Any]) -> dict[str, Any]:
    """The instance ``dagster.yaml`` the chart writes into its ConfigMap, for the keys we set."""
    storage = _render_postgres(values)
    return {
        "run_launcher": _render_run_launcher(values),
        "run_storage": {
            "module": "dagster_postgres.run_storage",
            "class": "PostgresRunStorage",
            "config": storage,
        },
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": storage,
        },
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": storage,
        },
        "telemetry": {"enabled": values["telemetry"]["enabled"]},
        **_render_daemon_parts(values),
        **_render_concurrency(values),
    }


def _class_config_errors(section: Mapping[str, Any]) -> list[str]:
    """Validate one ``module``/``class``/``config`` block against the class's own schema."""
    klass = class_from_code_pointer(section["module"], section["class"])
    result = process_config(resolve_to_config_type(klass.config_type()), section["config"])
    return [] if result.success else [e.message for e in result.errors or []]


@pytest.fixture
def pg_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chart sets DAGSTER_PG_PASSWORD from the secret; the config refers to it by name."""
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-a-real-password")


def test_values_use_only_keys_the_chart_defines() -> None:
    assert _unknown_keys(_values()) == []


def test_a_misspelt_key_is_caught() -> None:
    values = _values()
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    launcher["runK8sConfg"] = launcher.pop("runK8sConfig")
    values["dagsterDaemon"]["runMonitoring"]["maxResumeRunAttempt"] = 1
    assert _unknown_keys(values) == [
        "dagsterDaemon.runMonitoring.maxResumeRunAttempt",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.containerConfig.resources.limits.ephemeral-storage",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.containerConfig.resources.limits.memory",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.containerConfig.resources.requests.cpu",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.containerConfig.resources.requests.ephemeral-storage",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.containerConfig.resources.requests.memory",
        "runLauncher.config.k8sRunLauncher.runK8sConfg.jobSpecConfig.ttlSecondsAfterFinished",
    ]


def test_rendered_instance_passes_dagster_instance_schema(
    tmp_path: Path, pg_password: None
) -> None:
    instance = render_instance(_values())
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_monitoring"]["max_resume_run_attempts"] == 1
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 10


@pytest.mark.parametrize(
    "section", ["run_launcher", "run_storage", "event_log_storage", "schedule_storage"]
)
def test_rendered_classes_accept_their_config(section: str, pg_password: None) -> None:
    assert _class_config_errors(render_instance(_values())[section]) == []


def test_k8s_run_launcher_config_carries_the_run_pod_settings(pg_password: None) -> None:
    launcher = render_instance(_values())["run_launcher"]
    cls = class_from_code_pointer(launcher["module"], launcher["class"])
    processed = process_config(resolve_to_config_type(cls.config_type()), launcher["config"])
    assert processed.success, processed.errors
    value = processed.value
    assert value["run_k8s_config"]["container_config"]["resources"]["limits"]["memory"] == "3Gi"
    assert value["run_k8s_config"]["job_spec_config"]["ttlSecondsAfterFinished"] == 3600
    assert value["postgres_password_secret"] == "dagster-postgresql-secret"


def test_a_wrong_launcher_setting_fails_validation(pg_password: None) -> None:
    launcher = render_instance(_values())["run_launcher"]
    launcher["config"]["image_pul_policy"] = launcher["config"].pop("image_pull_policy")
    launcher["config"]["fail_pod_on_run_failure"] = "sometimes"
    errors = _class_config_errors(launcher)
    assert any("image_pul_policy" in e for e in errors), errors
    assert any("fail_pod_on_run_failure" in e for e in errors), errors


def _deployment() -> dict[str, Any]:
    (deployment,) = _values()["dagster-user-deployments"]["deployments"]
    return deployment


def test_run_pods_use_object_storage_and_no_shared_volume() -> None:
    values = _values()
    paths = list(_key_paths(values))
    assert not [p for p in paths if "volume" in p.lower() or "persistentVolumeClaim" in p]
    deployment = _deployment()
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    secrets = {s["name"] for s in deployment["envSecrets"]}
    assert secrets == {"media-analysis-env", "media-analysis-storage"}
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert "MEDIA_ANALYSIS_STORAGE_BUCKET" not in env  # from the Secret, with the credentials
    # What a run pod sees: the plain env plus the Secrets' keys (values made up here).
    from_secrets = {
        "MEDIA_ANALYSIS_DATABASE_URL": "postgresql://media:x@db.internal:5432/media_analysis",
        "MEDIA_ANALYSIS_STORAGE_BUCKET": "media-analysis",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-west-1",
    }
    storage = settings.load_settings(env | from_secrets).storage.config
    assert (storage.kind, storage.bucket, storage.region) == ("s3", "media-analysis", "eu-west-1")


def test_code_server_runs_the_dockerfile_module() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*?\])", text, re.S | re.M).group(1).replace("\\\n", ""))  # type: ignore[union-attr]
    args = _deployment()["codeServerArgs"]
    module = cmd[cmd.index("-m") + 1]
    location = cmd[cmd.index("--location-name") + 1]
    assert args == ["--module-name", module, "--location-name", location], shlex.join(args)


def test_runs_are_queued_by_dagsters_default_coordinator(tmp_path: Path) -> None:
    values = _values()
    assert values["dagsterDaemon"]["runCoordinator"]["enabled"] is False
    instance = render_instance(values)
    assert "run_coordinator" not in instance
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    coordinator = InstanceRef.from_dir(str(tmp_path)).run_coordinator_data.rehydrate(
        QueuedRunCoordinator
    )
    assert isinstance(coordinator, QueuedRunCoordinator)
    assert coordinator.dequeue_interval_seconds == 5


def test_the_charts_own_run_coordinator_block_would_not_load() -> None:
    """Why runCoordinator stays disabled: the module older charts name is gone in dagster 1.13."""
    values = _values()
    values["dagsterDaemon"]["runCoordinator"] = {
        "enabled": True,
        "type": "QueuedRunCoordinator",
        "config": {"queuedRunCoordinator": {"dequeueIntervalSeconds": 5}},
    }
    with pytest.raises(
        Exception, match=re.escape("Couldn't import module dagster.core.run_coordinator")
    ):
        _class_config_errors(render_instance(values)["run_coordinator"])
