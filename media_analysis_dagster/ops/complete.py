"""``aggregate`` (one summary over every result) and ``complete_request``."""

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import (
    AnalysisSummary,
    Branch,
    CompletedRequest,
    DocumentText,
    FetchedMedia,
    RequestSpec,
    TaskOutcome,
)
from ..errors import NothingProducedError
from ..providers.base import ProviderResult
from ..resources import (
    CallbackResource,
    DatabaseResource,
    FileStorageResource,
    ProvidersResource,
)
from .budget import StoreBudget
from .common import materialize, readable_failures, resume_if_reexecution
from .planning import build_task
from .pools import pooled
from .to_rows import result_row

if TYPE_CHECKING:
    from ..providers.chain import Budget


def costs(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    per: dict[str, float] = {}
    for a in attempts:
        per[a["provider"]] = round(per.get(a["provider"], 0.0) + float(a.get("cost_usd") or 0), 6)
    return {**per, "total": round(sum(per.values()), 6), "currency": "USD"}


def mean_confidence(results: list[ProviderResult]) -> float | None:
    """Mean confidence of the results that have one; None when none does."""
    values = [r.confidence for r in results if r.confidence is not None]
    return round(sum(values) / len(values), 4) if values else None


def summarize(
    request: RequestSpec,
    media: FetchedMedia,
    branches: list[Branch],
    results: list[ProviderResult],
    providers: ProvidersResource,
    budget: "Budget | None",
    context: OpExecutionContext,
    files: FileStorageResource,
) -> tuple[ProviderResult | None, list[dict[str, Any]]]:
    """Run the summary fallback chain over every result; ``(summary, attempts)``."""
    from ..providers.chain import run_chain

    task = build_task(request, media, branches, "summary", files.local_copy)
    doc = next((b for b in branches if isinstance(b, DocumentText)), None)
    task = replace(
        task,
        document_text=files.local_copy(doc.text).read_text(encoding="utf-8") if doc else None,
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
    chain = pooled(providers.chain("summary", list(request.providers or []) or None), context)
    outcome = run_chain(
        task,
        chain,
        budget=budget,
        retry_kwargs=providers.retry_kwargs(),
    )
    return outcome.result, [{**a.to_dict(), "task": "summary"} for a in outcome.attempts]


@op(description="Write one summary over all results (summary fallback chain).")
@readable_failures
def aggregate(
    context: OpExecutionContext,
    request: RequestSpec,
    media: FetchedMedia,
    branches: list[Branch],
    outcomes: list[TaskOutcome],
    database: DatabaseResource,
    providers: ProvidersResource,
    files: FileStorageResource,
) -> Output[AnalysisSummary]:
    rid, store = request.request_id, database.store
    resume_if_reexecution(context, store, rid)
    results = [r for o in outcomes for r in o.results]
    attempts = [a for o in outcomes for a in o.attempts]
    if not results:
        raise NothingProducedError(
            f"No analysis produced a result for request {rid}: "
            + "; ".join(f"{a['provider']} {a['result_type']}: {a['error']}" for a in attempts)
        )
    budget = StoreBudget(store, rid, providers.budget_usd)
    summary, tried = summarize(request, media, branches, results, providers, budget, context, files)
    attempts += tried
    if summary is not None:
        store.replace_rows(rid, result_tasks=["summary"], results=[result_row(summary, "summary")])
        materialize(context, "media_analysis_results", rid, result_types="summary")
    missing = sorted({o.key for o in outcomes if not o.results}) + ([] if summary else ["summary"])
    value = AnalysisSummary(
        provider_chain=tuple(attempts),
        api_costs=costs(attempts),
        confidence=mean_confidence(results),
        provider_errors=tuple(a for a in attempts if a["status"] != "success"),
        missing_result_types=tuple(missing),
        result_types=tuple(
            sorted({r.result_type for r in results} | ({"summary"} if summary else set()))
        ),
        summary=summary.content if summary else None,
    )
    return Output(
        value,
        metadata={
            "results": len(results) + (1 if summary else 0),
            "summary_provider": summary.provider if summary else "none",
            "api_costs": MetadataValue.json(value.api_costs),
            "summary": MetadataValue.md(value.summary or "_no summary_"),
        },
    )


@op(description="Mark the request completed with timing, confidence, provider chain and costs.")
@readable_failures
def complete_request(
    context: OpExecutionContext,
    request: RequestSpec,
    summary: AnalysisSummary,
    database: DatabaseResource,
    files: FileStorageResource,
    callbacks: CallbackResource,
) -> Output[CompletedRequest]:
    rid, store = request.request_id, database.store
    resume_if_reexecution(context, store, rid)
    details = None
    if summary.provider_errors or summary.missing_result_types:
        details = {
            "run_id": context.run_id,
            "partial": True,
            "provider_errors": list(summary.provider_errors),
            "missing_result_types": list(summary.missing_result_types),
        }
    done = store.complete_request(
        rid,
        confidence_score=summary.confidence,
        provider_chain=list(summary.provider_chain),
        api_costs=summary.api_costs,
        error_details=details,
    )
    status = store.get_status(rid)
    if not done:
        context.log.warning(f"request {rid} is {status}; it was not marked completed")
    materialize(context, "media_analysis_requests", rid, status=status)
    delivered = callbacks.notify(store, rid, context.run, files) if done else None
    if delivered is not None:
        context.log.info(f"callback for request {rid}: {delivered}")
    return Output(
        CompletedRequest(rid, status),
        metadata={
            "request_id": rid,
            "status": str(status),
            "callback": MetadataValue.json(asdict(delivered) if delivered else {}),
        },
    )
