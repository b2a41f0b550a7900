"""``threaded_in_process_executor``: the in-process executor, with ready steps on threads.

Why: a request's analyses are independent and mostly wait on the network (provider calls) or
on native code that releases the GIL (PyAV, numpy, OpenCV), so they should overlap. Dagster's
in-process executor runs them one after another; its multiprocess executor pays for a new
process per step, which measured 10 to 37 s for the whole job here against about 1 s in process
(``benchmarks/executors.py``). This executor keeps one process (one resource setup, one code
load, no per-step start-up) and runs every step whose inputs are ready on a thread pool, up to
``max_concurrent``. Each step still has its own events, retries, hooks and pool slots, exactly
as Dagster's executors handle them (``ActiveExecution`` drives both). Termination: a thread
cannot be interrupted, so no new step starts, running steps get ``termination_grace_s`` to
finish, and then the run stops without them (they are daemon threads of the run worker).

The loop mirrors ``dagster._core.execution.plan.execute_plan.inner_plan_execution_iterator``
(in-process) and the multiprocess executor's scheduling loop; it uses two private helpers of
that module, which is why Dagster is pinned to an exact version.
"""

from __future__ import annotations

import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from dagster import Field, Int, executor

from ..tags import TAG_RUN_WORKER
from .private_api import (
    ActiveExecution,
    DagsterEvent,
    DagsterExecutionInterruptedError,
    EngineEventData,
    ExecuteRunWithPlanIterable,
    ExecutionPlan,
    Executor,
    InstanceConcurrencyContext,
    PlanExecutionContext,
    PlanExecutionContextManager,
    PlanOrchestrationContext,
    RetryMode,
    dagster_event_sequence_for_step,
    get_retries_config,
    serializable_error_info_from_exc_info,
    trigger_hook,
)

_DONE = object()


def process_start_ticks(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time, clock ticks after boot): with the pid it
    names one process, even after the pid is reused. None when the process is gone or a zombie,
    or without ``/proc``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    if fields[0] in {"Z", "X"}:
        return None
    return int(fields[19])


def worker_identity(pid: int | None = None) -> str:
    """The value of ``TAG_RUN_WORKER`` for ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{process_start_ticks(pid) or 0}"


class _Crash:
    """An exception raised in a step's thread outside Dagster's own step error handling."""

    def __init__(self, exc_info: Any) -> None:
        self.exc_info = exc_info


class ThreadedInProcessExecutor(Executor):
    def __init__(
        self, retries: RetryMode, max_concurrent: int, termination_grace_s: float = 10.0
    ) -> None:
        self._retries = retries
        self.max_concurrent = max(1, max_concurrent)
        self.termination_grace_s = termination_grace_s

    @property
    def retries(self) -> RetryMode:
        return self._retries

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        # Before any step: from here on a dead worker can be told from a slow one.
        plan_context.instance.add_run_tags(
            plan_context.dagster_run.run_id, {TAG_RUN_WORKER: worker_identity()}
        )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Executing steps in process on up to {self.max_concurrent} threads "
            f"(pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(
                os.getpid(), execution_plan.step_keys_to_execute
            ),
        )
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=self._iterate,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                ),
            )
        )

    def _launch(
        self, active: Any, job_context: Any, running: dict[str, Any], work: Any
    ) -> Iterator[DagsterEvent]:
        """Start every ready step (up to ``max_concurrent``) on its own daemon thread."""
        steps = active.get_steps_to_execute(limit=self.max_concurrent - len(running))
        yield from active.concurrency_event_iterator(job_context)
        for step in steps:
            step_context = job_context.for_step(step, active.get_known_state())
            running[step.key] = (step_context, [])
            threading.Thread(
                target=work,
                args=(step.key, step_context),
                name=f"dagster-step-{step.key}",
                daemon=True,
            ).start()

    def _on_item(
        self, active: Any, job_context: Any, running: dict[str, Any], key: str, item: Any
    ) -> Iterator[DagsterEvent]:
        """Pass on one step event; when the step is done, its plan events and hooks."""
        step_context, step_events = running[key]
        if isinstance(item, _Crash):
            error = serializable_error_info_from_exc_info(item.exc_info)
            yield DagsterEvent.engine_event(
                step_context,
                f"Unexpected error in the thread of step {key}",
                EngineEventData.engine_error(error),
            )
            raise item.exc_info[1]
        if item is not _DONE:
            step_events.append(item)
            yield item
            active.handle_event(item)
            return
        del running[key]
        active.verify_complete(job_context, key)
        for event in active.plan_events_iterator(job_context):
            step_events.append(event)
            yield event
        yield from trigger_hook(step_context, step_events)

    def _iterate(
        self, job_context: PlanExecutionContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def work(key: str, step_context: Any) -> None:
            try:
                for event in dagster_event_sequence_for_step(step_context):
                    events.put((key, event))
                events.put((key, _DONE))
            except BaseException:  # surfaced in the main thread
                events.put((key, _Crash(sys.exc_info())))

        with ExitStack() as stack:
            concurrency = stack.enter_context(
                InstanceConcurrencyContext(job_context.instance, job_context.dagster_run)
            )
            active = stack.enter_context(
                ActiveExecution(
                    execution_plan,
                    retry_mode=job_context.retry_mode,
                    max_concurrent=self.max_concurrent,
                    instance_concurrency_context=concurrency,
                )
            )
            running: dict[str, tuple[Any, list[DagsterEvent]]] = {}
            stopping = False
            abandon_at = float("inf")
            while (not stopping and not active.is_complete) or running:
                if stopping and time.monotonic() > abandon_at:
                    # Threads cannot be interrupted; they are daemons and die with the worker.
                    yield DagsterEvent.engine_event(
                        job_context,
                        f"Steps still running after {self.termination_grace_s:.0f}s are "
                        "abandoned: " + ", ".join(running),
                        EngineEventData.interrupted(list(running)),
                    )
                    break
                if not stopping and active.check_for_interrupts():
                    stopping = True
                    abandon_at = time.monotonic() + self.termination_grace_s
                    active.mark_interrupted()
                    yield DagsterEvent.engine_event(
                        job_context,
                        "Termination requested: waiting for running steps to finish",
                        EngineEventData.interrupted(list(running)),
                    )
                if not stopping:
                    yield from self._launch(active, job_context, running, work)
                if not running:
                    if not stopping and not active.is_complete:
                        active.sleep_til_ready()
                    continue
                try:
                    key, item = events.get(timeout=0.5)
                except queue.Empty:
                    continue
                yield from self._on_item(active, job_context, running, key, item)
            if stopping:
                raise DagsterExecutionInterruptedError()


@executor(
    name="threaded_in_process",
    config_schema={
        "retries": get_retries_config(),
        "max_concurrent": Field(
            Int, default_value=8, description="Steps run at the same time (threads)."
        ),
        "termination_grace_s": Field(
            float,
            default_value=10.0,
            description="On termination, how long running steps may finish before the run "
            "stops without them (threads cannot be interrupted).",
        ),
    },
)
def threaded_in_process_executor(init_context: Any) -> ThreadedInProcessExecutor:
    """Run every step in the run worker's process, independent steps on a thread pool."""
    config = init_context.executor_config
    return ThreadedInProcessExecutor(
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
        max_concurrent=config["max_concurrent"],
        termination_grace_s=config["termination_grace_s"],
    )
