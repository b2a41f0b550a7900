"""``aggregate`` (one summary over every result) and ``complete_request``."""

from dataclasses import replace
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..errors import NothingProducedError
from ..resources import DatabaseResource, ProvidersResource
from .analyze import build_task, result_row
from .common import materialize, resume_if_reexecution
from .pools import pooled


def _costs(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    per: dict[str, float] = {}
    for a in attempts:
        per[a["provider"]] = round(per.get(a["provider"], 0.0) + float(a.get("cost_usd") or 0), 6)
    return {**per, "total": round(sum(per.values()), 6), "currency": "USD"}


def _confidence(results: list[dict[str, Any]]) -> float | None:
    """Mean confidence of the results that have one; None when none does."""
    values = [r["confidence"] for r in results if r.get("confidence") is not None]
    return round(sum(values) / len(values), 4) if values else None


@op(description="Write one summary over all results (summary fallback chain).")
def aggregate(
    context: OpExecutionContext,
    request: dict[str, Any],
    media: dict[str, Any],
    branches: list[dict[str, Any]],
    outcomes: list[dict[str, Any]],
    database: DatabaseResource,
    providers: ProvidersResource,
) -> Output[dict[str, Any]]:
    from ..providers.chain import Budget, run_chain

    request_id = request["request_id"]
    resume_if_reexecution(context, database.store, request_id)
    results = [r for o in outcomes for r in o["results"]]
    attempts = [a for o in outcomes for a in o["attempts"]]
    if not results:
        raise NothingProducedError(
            f"No analysis produced a result for request {request_id}: "
            + "; ".join(f"{a['provider']} {a['result_type']}: {a['error']}" for a in attempts)
        )
    base = build_task(request, media, branches, "summary")
    task = replace(
        base,
        prior_results=tuple(
            {k: r.get(k) for k in ("result_type", "provider", "content", "content_json")}
            for r in results
        ),
    )
    chain = pooled(providers.chain("summary", request.get("providers")), context)
    outcome = run_chain(
        task,
        chain,
        budget=Budget(providers.budget_usd, database.store.spent_usd(request_id)),
        retry_kwargs=providers.retry_kwargs(),
    )
    attempts += [{**a.to_dict(), "task": "summary"} for a in outcome.attempts]
    summary = outcome.result
    if summary is not None:
        database.store.replace_rows(
            request_id, result_tasks=["summary"], results=[result_row(summary, "summary")]
        )
        materialize(
            context,
            "media_analysis_results",
            request_id,
            result_types="summary",
            provider=summary.provider,
        )
    failures = [a for a in attempts if a["status"] != "success"]
    missing = sorted({o["key"] for o in outcomes if not o["results"]})
    api_costs = _costs(attempts)
    data = {
        "provider_chain": attempts,
        "api_costs": api_costs,
        "confidence": _confidence(results),
        "provider_errors": failures,
        "missing_result_types": missing + ([] if summary else ["summary"]),
    }
    return Output(
        data,
        metadata={
            "results": len(results) + (1 if summary else 0),
            "summary_provider": summary.provider if summary else "none",
            "api_costs": MetadataValue.json(api_costs),
            "summary": MetadataValue.md((summary.content or "") if summary else "_no summary_"),
        },
    )


@op(description="Mark the request completed with timing, confidence, provider chain and costs.")
def complete_request(
    context: OpExecutionContext,
    request: dict[str, Any],
    summary: dict[str, Any],
    database: DatabaseResource,
) -> Output[dict[str, Any]]:
    request_id = request["request_id"]
    resume_if_reexecution(context, database.store, request_id)
    details = None
    if summary["provider_errors"] or summary["missing_result_types"]:
        details = {
            "run_id": context.run_id,
            "partial": True,
            "provider_errors": summary["provider_errors"],
            "missing_result_types": summary["missing_result_types"],
        }
    done = database.store.complete_request(
        request_id,
        confidence_score=summary["confidence"],
        provider_chain=summary["provider_chain"],
        api_costs=summary["api_costs"],
        error_details=details,
    )
    status = database.store.get_status(request_id)
    if not done:
        context.log.warning(f"request {request_id} is {status}; it was not marked completed")
    materialize(context, "media_analysis_requests", request_id, status=status)
    return Output(
        {"request_id": request_id, "status": status},
        metadata={"request_id": request_id, "status": str(status)},
    )
