"""Running the analyses of a request: one planned task, the summary over every result, and what
the request row records about them (confidence, provider chain, costs).

A task is the internal provider's (offline facts, always free) or a fallback chain of AI
providers for one result type; a chain task first looks in the analysis cache (``cache.py``), and
every paid call reserves its most possible cost from the request's budget (``budget.py``) and
holds a slot of its provider's pool (``pools.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contracts import (
    AnalysisSummary,
    ArtifactRef,
    Branch,
    DocumentText,
    FetchedMedia,
    PlannedTask,
    RequestSpec,
    TaskOutcome,
)
from ..errors import NothingProducedError, describe
from ..providers.base import AnalysisTask, Provider, ProviderResult
from ..providers.chain import Attempt, run_chain
from . import cache
from .planning import build_task
from .progress import WORK_TEMPLATES

if TYPE_CHECKING:
    from ..providers.chain import Budget, ChainWatch
    from .progress import OnProgress, Report

Local = Callable[[ArtifactRef], Path]
Pooled = Callable[[list[Provider]], list[Provider]]


def _internal(
    task: AnalysisTask, internal: Any, report: Report | None
) -> tuple[list[ProviderResult], list[Attempt]]:
    on_progress: OnProgress | None = None
    if report is not None and task.result_type in WORK_TEMPLATES:
        on_progress = report.counting(WORK_TEMPLATES[task.result_type])
    elif report is not None:
        report.busy(f"internal {task.result_type}")
    started = time.monotonic()
    try:
        results = internal.analyze_all(task, on_progress=on_progress)
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
    providers: Any,
    budget: Budget | None,
    *,
    pooled: Pooled = list,
    local: Local | None = None,
    store: Any = None,
    report: Report | None = None,
) -> TaskOutcome:
    """Run one planned task. ``providers`` is the providers resource (registry, chains, retry
    settings, cache age); ``pooled`` wraps a chain so each paid call holds a pool slot; with a
    ``store``, a chain task first looks in the analysis cache; ``report`` (the step's progress)
    hears how far offline work is and which provider is being waited for."""
    task = planned.resolved(local)
    if planned.kind == "internal":
        results, attempts = _internal(task, providers.registry()["internal"], report)
        tried = [a.to_dict() for a in attempts]
    else:
        requested = list(planned.providers) if planned.providers else None
        chain = providers.chain(task.result_type, requested)
        hit = None
        if store is not None and planned.use_cache:
            hit = cache.lookup(store, task, planned.cache_key, chain, providers.cache_max_age_s)
        if hit is not None:
            results, tried = hit
        else:
            outcome = run_chain(
                task,
                pooled(chain),
                budget=budget,
                retry_kwargs=providers.retry_kwargs(),
                watch=_watch(report, task.result_type),
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


def summarize(
    request: RequestSpec,
    media: FetchedMedia,
    branches: list[Branch],
    results: list[ProviderResult],
    providers: Any,
    budget: Budget | None,
    *,
    pooled: Pooled = list,
    local: Local | None = None,
    report: Report | None = None,
) -> tuple[ProviderResult | None, list[dict[str, Any]]]:
    """Run the summary fallback chain over every result; ``(summary, attempts)``; ``report``
    hears which provider is being waited for."""
    here: Local = local or (lambda ref: ref.path)
    task = build_task(request, media, branches, "summary", here)
    doc = next((b for b in branches if isinstance(b, DocumentText)), None)
    task = replace(
        task,
        document_text=here(doc.text).read_text(encoding="utf-8") if doc else None,
        prior_results=tuple(
            {
                "result_type": r.result_type,
                "provider": r.provider,
                "content": r.content,
                "content_json": r.content_json,
            }
            for r in results
        ),
    )
    chain = pooled(providers.chain("summary", list(request.providers or []) or None))
    outcome = run_chain(
        task,
        chain,
        budget=budget,
        retry_kwargs=providers.retry_kwargs(),
        watch=_watch(report, "summary"),
    )
    return outcome.result, [{**a.to_dict(), "task": "summary"} for a in outcome.attempts]


def _watch(report: Report | None, result_type: str) -> ChainWatch | None:
    """The chain's watch: a new phase of the step's progress, or none without a report."""
    return report.calls(result_type) if report is not None else None


def costs(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """``api_costs``: USD per provider and in total."""
    per: dict[str, float] = {}
    for a in attempts:
        per[a["provider"]] = round(per.get(a["provider"], 0.0) + float(a.get("cost_usd") or 0), 6)
    return {**per, "total": round(sum(per.values()), 6), "currency": "USD"}


def mean_confidence(results: list[ProviderResult]) -> float | None:
    """Mean confidence of the results that have one; None when none does."""
    values = [r.confidence for r in results if r.confidence is not None]
    return round(sum(values) / len(values), 4) if values else None


def results_of(request_id: str, outcomes: list[TaskOutcome]) -> list[ProviderResult]:
    """Every result of the analyses; none at all fails the request in one sentence."""
    results = [r for o in outcomes for r in o.results]
    if not results:
        tried = [a for o in outcomes for a in o.attempts]
        raise NothingProducedError(
            f"No analysis produced a result for request {request_id}: "
            + "; ".join(f"{a['provider']} {a['result_type']}: {a['error']}" for a in tried)
        )
    return results


def summary_of(
    outcomes: list[TaskOutcome], summary: ProviderResult | None, tried: list[dict[str, Any]]
) -> AnalysisSummary:
    """What ``complete_request`` records: the provider chain, costs, confidence, what is
    missing, and the summary text."""
    results = [r for o in outcomes for r in o.results]
    attempts = [a for o in outcomes for a in o.attempts] + tried
    missing = sorted({o.key for o in outcomes if not o.results}) + ([] if summary else ["summary"])
    kinds = {r.result_type for r in results} | ({"summary"} if summary else set())
    return AnalysisSummary(
        provider_chain=tuple(attempts),
        api_costs=costs(attempts),
        confidence=mean_confidence(results),
        provider_errors=tuple(a for a in attempts if a["status"] != "success"),
        missing_result_types=tuple(missing),
        result_types=tuple(sorted(kinds)),
        summary=summary.content if summary else None,
    )
