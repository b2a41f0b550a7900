"""Every private Dagster symbol this project uses, imported in one place.

Dagster is pinned to an exact version (``pyproject.toml``) because the threaded executor, the
environment-selected instance storage, the per-call provider pools and the Celery run launcher
reach into ``dagster._core``. When an upgrade moves one of these symbols, importing this module
fails with one message naming the symbol, the module it was expected in and who uses it, instead
of an ``ImportError`` deep inside a run worker. ``check()`` is what the guard test calls.
"""

from __future__ import annotations

import importlib
from typing import Any

# (module, attribute, used by) — the whole private surface; nothing else imports dagster._*.
PRIVATE_SYMBOLS: tuple[tuple[str, str, str], ...] = (
    ("dagster._core.events", "DagsterEvent", "executor"),
    ("dagster._core.events", "EngineEventData", "executor"),
    ("dagster._core.errors", "DagsterExecutionInterruptedError", "executor"),
    ("dagster._core.execution.api", "ExecuteRunWithPlanIterable", "executor"),
    ("dagster._core.execution.context.system", "PlanExecutionContext", "executor"),
    ("dagster._core.execution.context.system", "PlanOrchestrationContext", "executor"),
    ("dagster._core.execution.context_creation_job", "PlanExecutionContextManager", "executor"),
    ("dagster._core.execution.plan.active", "ActiveExecution", "executor"),
    ("dagster._core.execution.plan.execute_plan", "_trigger_hook", "executor"),
    ("dagster._core.execution.plan.execute_plan", "dagster_event_sequence_for_step", "executor"),
    (
        "dagster._core.execution.plan.instance_concurrency_context",
        "InstanceConcurrencyContext",
        "executor, provider pools",
    ),
    ("dagster._core.execution.plan.plan", "ExecutionPlan", "executor"),
    ("dagster._core.execution.retries", "RetryMode", "executor"),
    ("dagster._core.execution.retries", "get_retries_config", "executor"),
    ("dagster._core.executor.base", "Executor", "executor"),
    ("dagster._utils.error", "serializable_error_info_from_exc_info", "executor"),
    ("dagster._core.storage.base_storage", "DagsterStorage", "instance storage"),
    ("dagster._core.storage.sqlite_storage", "DagsterSqliteStorage", "instance storage"),
    ("dagster._serdes", "ConfigurableClass", "instance storage"),
    ("dagster._serdes", "ConfigurableClassData", "instance storage, celery launcher"),
    ("dagster._core.launcher", "CheckRunHealthResult", "celery launcher"),
    ("dagster._core.launcher", "WorkerStatus", "celery launcher"),
    ("dagster._core.errors", "DagsterUserCodeProcessError", "step failure"),
    ("dagster._utils.error", "SerializableErrorInfo", "step failure"),
)


class DagsterPrivateApiMoved(ImportError):
    """A private Dagster symbol this project relies on is not where the pinned version had it."""


def load(module: str, name: str) -> Any:
    """``module.name``, or a ``DagsterPrivateApiMoved`` that says what moved and who needs it."""
    users = next((u for m, n, u in PRIVATE_SYMBOLS if (m, n) == (module, name)), "?")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise DagsterPrivateApiMoved(
            f"Dagster's private symbol {module}.{name} (used by {users}) is gone in the installed "
            f"Dagster: the upgrade moved it; update media_analysis_dagster/dagster_internals/ "
            f"({exc})."
        ) from None


def check() -> list[str]:
    """Load every symbol; the names that could not be loaded (empty when all are there)."""
    missing = []
    for module, name, _users in PRIVATE_SYMBOLS:
        try:
            load(module, name)
        except DagsterPrivateApiMoved as exc:
            missing.append(str(exc))
    return missing


DagsterEvent = load("dagster._core.events", "DagsterEvent")
EngineEventData = load("dagster._core.events", "EngineEventData")
DagsterExecutionInterruptedError = load("dagster._core.errors", "DagsterExecutionInterruptedError")
ExecuteRunWithPlanIterable = load("dagster._core.execution.api", "ExecuteRunWithPlanIterable")
PlanExecutionContext = load("dagster._core.execution.context.system", "PlanExecutionContext")
PlanOrchestrationContext = load(
    "dagster._core.execution.context.system", "PlanOrchestrationContext"
)
PlanExecutionContextManager = load(
    "dagster._core.execution.context_creation_job", "PlanExecutionContextManager"
)
ActiveExecution = load("dagster._core.execution.plan.active", "ActiveExecution")
trigger_hook = load("dagster._core.execution.plan.execute_plan", "_trigger_hook")
dagster_event_sequence_for_step = load(
    "dagster._core.execution.plan.execute_plan", "dagster_event_sequence_for_step"
)
InstanceConcurrencyContext = load(
    "dagster._core.execution.plan.instance_concurrency_context", "InstanceConcurrencyContext"
)
ExecutionPlan = load("dagster._core.execution.plan.plan", "ExecutionPlan")
RetryMode = load("dagster._core.execution.retries", "RetryMode")
get_retries_config = load("dagster._core.execution.retries", "get_retries_config")
Executor = load("dagster._core.executor.base", "Executor")
serializable_error_info_from_exc_info = load(
    "dagster._utils.error", "serializable_error_info_from_exc_info"
)
DagsterStorage = load("dagster._core.storage.base_storage", "DagsterStorage")
ConfigurableClass = load("dagster._serdes", "ConfigurableClass")
ConfigurableClassData = load("dagster._serdes", "ConfigurableClassData")
post_process_config = load("dagster._config.post_process", "post_process_config")
CheckRunHealthResult = load("dagster._core.launcher", "CheckRunHealthResult")
WorkerStatus = load("dagster._core.launcher", "WorkerStatus")
DagsterUserCodeProcessError = load("dagster._core.errors", "DagsterUserCodeProcessError")
SerializableErrorInfo = load("dagster._utils.error", "SerializableErrorInfo")
