"""``plan_analyses`` (fan-out) and ``analyze`` (one mapped step per provider task).

Provider failures never fail the step: every attempt is returned and ends up in
``provider_chain``; only unexpected errors (a bug, the database) fail it. Every result row
carries ``metadata.task`` (the mapping key), which is what a re-executed step replaces.
"""

import time
from typing import TYPE_CHECKING, Any

from dagster import DynamicOut, DynamicOutput, MetadataValue, OpExecutionContext, Output, op

from ..contracts import Branch, FetchedMedia, PlannedTask, RequestSpec, TaskOutcome
from ..errors import describe
from ..providers.base import AnalysisTask
from ..resources import DatabaseResource, FileStorageResource, ProvidersResource
from . import cache
from .budget import StoreBudget
from .common import STEP_OUTPUTS, materialize, readable_failures, resume_if_reexecution
from .planning import plan_tasks
from .pools import pooled
from .to_rows import file_row, result_row

if TYPE_CHECKING:
    from ..db.store import Store
    from ..providers.chain import Budget


@op(out=DynamicOut(PlannedTask), description="Decide which analyses apply; one mapped step each.")
@readable_failures
def plan_analyses(
    context: OpExecutionContext,
    request: RequestSpec,
    media: FetchedMedia,
    branches: list[Branch],
    providers: ProvidersResource,
    files: FileStorageResource,
):
    def has_chain(result_type: str) -> bool:
        chain = providers.chain(result_type, list(request.providers or []) or None)
        return any(p.supports(result_type, media.media_type) for p in chain)

    planned = plan_tasks(request, media, branches, has_chain, files.local_copy)
    names = ", ".join(f"{p.kind}:{p.key}" for p in planned)
    context.log.info(f"planned {names}; providers enabled: {', '.join(providers.enabled_names())}")
    for p in planned:
        yield DynamicOutput(
            p, mapping_key=p.key, metadata={"kind": p.kind, "result_type": p.result_type}
        )


def _internal(task: AnalysisTask, providers: ProvidersResource) -> tuple[list, list]:
    from ..providers.chain import Attempt

    started = time.monotonic()
    try:
        results = providers.registry()["internal"].analyze_all(task)
        status, error = "success", None
    except Exception as exc:  # one offline analysis failing must not sink the others
        results, status, error = [], "error", describe(exc)
    ms = int((time.monotonic() - started) * 1000)
    kind = None if error is None else "InternalAnalysisError"
    return results, [
        Attempt("internal", task.result_type, "internal-v1", status, ms, 0.0, kind, error)
    ]


def run_task(
    planned: PlannedTask,
    providers: ProvidersResource,
    budget: "Budget | None",
    context: OpExecutionContext | None = None,
    local: Any = None,
    store: "Store | None" = None,
) -> TaskOutcome:
    """Run one planned task: the internal provider, or the result type's fallback chain
    (its paid calls reserve their most possible cost from ``budget`` before they are made).
    With a ``store``, a chain task first looks in the analysis cache (``ops/cache.py``)."""
    from ..providers.chain import run_chain

    task = planned.resolved(local)
    if planned.kind == "internal":
        results, attempts = _internal(task, providers)
        tried = [a.to_dict() for a in attempts]
    else:
        requested = list(planned.providers) if planned.providers else None
        chain = providers.chain(task.result_type, requested)
        hit = None
        if store is not None and planned.use_cache:
            max_age = providers.cache_max_age_s
            hit = cache.lookup(store, task, planned.cache_key, chain, max_age)
        if hit is not None:
            results, tried = hit
        else:
            outcome = run_chain(
                task,
                pooled(chain, context) if context is not None else chain,
                budget=budget,
                retry_kwargs=providers.retry_kwargs(),
            )
            results = cache.keyed([outcome.result] if outcome.result else [], planned.cache_key)
            tried = [a.to_dict() for a in outcome.attempts]
    return TaskOutcome(
        planned.key,
        task.result_type,
        planned.kind,
        tuple(results),
        tuple({**a, "task": planned.key} for a in tried),
    )


def _metadata(outcome: TaskOutcome) -> dict:
    tried = [
        {k: a[k] for k in ("provider", "status", "ms", "cost_usd", "error")}
        for a in outcome.attempts
    ]
    results = [
        {
            "result_type": r.result_type,
            "provider": r.provider,
            "model": r.model_name,
            "confidence": r.confidence,
            "tokens": r.token_count,
            "cost_usd": r.cost_usd,
            "content": (r.content or "")[:300],
        }
        for r in outcome.results
    ]
    return {
        "status": "success" if outcome.results else "no result",
        "providers_tried": MetadataValue.json(tried),
        "results": MetadataValue.json(results),
    }


def store_subtitles(
    context: OpExecutionContext,
    database: DatabaseResource,
    files: FileStorageResource,
    request_id: str,
    outcome: TaskOutcome,
) -> None:
    """The transcript as ``.srt`` and ``.vtt`` files (``media_files.file_type='transcription'``),
    whichever provider made it."""
    from ..providers.local_speech import subtitle_files

    out_dir = files.step_dir(request_id, STEP_OUTPUTS["analyze"][0])
    refs = []
    for result in outcome.results:
        if not (result.content or "").strip():
            continue  # nothing was said: no subtitles
        for ext, text in subtitle_files(result).items():
            path = out_dir / f"transcript.{ext}"
            path.write_text(text, encoding="utf-8")
            mime = "application/x-subrip" if ext == "srt" else "text/vtt"
            refs.append(files.stored(path, mime_type=mime))
    rows = [file_row(ref, "transcription") for ref in refs]
    database.store.replace_rows(request_id, file_types=["transcription"], files=rows)
    materialize(context, "media_files", request_id, file_type="transcription", rows=len(rows))


@op(description="Run one analysis task (internal facts, or a provider fallback chain).")
@readable_failures
def analyze(
    context: OpExecutionContext,
    planned: PlannedTask,
    database: DatabaseResource,
    providers: ProvidersResource,
    files: FileStorageResource,
) -> Output[TaskOutcome]:
    request_id = planned.task.request_id
    resume_if_reexecution(context, database.store, request_id)
    budget = StoreBudget(database.store, request_id, providers.budget_usd)
    outcome = run_task(planned, providers, budget, context, files.local_copy, database.store)
    rows = [result_row(r, outcome.key) for r in outcome.results]
    database.store.replace_rows(request_id, result_tasks=[outcome.key], results=rows)
    materialize(context, "media_analysis_results", request_id, task=outcome.key, rows=len(rows))
    if outcome.result_type == "transcription":
        store_subtitles(context, database, files, request_id, outcome)
    for a in outcome.attempts:
        if a.get("cache_hit"):
            context.log.info(f"{a['provider']} {a['result_type']}: cache hit {a['cache_hit']}")
        elif a["status"] != "success":
            context.log.warning(f"{a['provider']} {a['result_type']}: {a['status']}: {a['error']}")
    return Output(outcome, metadata=_metadata(outcome))
