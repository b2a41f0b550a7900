"""``aggregate`` (one summary over every result) and ``complete_request``."""

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import (
    AnalysisSummary,
    Branch,
    CompletedRequest,
    FetchedMedia,
    RequestSpec,
    TaskOutcome,
)
from ..pipeline.analysis import results_of, summarize, summary_of
from ..pipeline.budget import StoreBudget
from ..pipeline.callbacks import record_end
from ..pipeline.pools import pooled
from ..pipeline.progress import step_progress
from ..pipeline.reports import store_report
from ..pipeline.rows import result_row
from ..pipeline.steps import (
    materialize,
    readable_failures,
    resume_if_reexecution,
    write_step_files,
)
from ..pipeline.views import summary_markdown
from ..resources import (
    CallbackResource,
    DatabaseResource,
    FileStorageResource,
    ProvidersResource,
)


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
    results = results_of(rid, outcomes)
    with step_progress(context) as report:
        summary, tried = summarize(
            request,
            media,
            branches,
            results,
            providers,
            StoreBudget(store, rid, providers.budget_usd),
            pooled=lambda chain: pooled(chain, context),
            local=files.local_copy,
            report=report,
        )
    if summary is not None:
        store.replace_rows(rid, result_tasks=["summary"], results=[result_row(summary, "summary")])
        materialize(context, "media_analysis_results", rid, result_types="summary")
    value = summary_of(outcomes, summary, tried)
    return Output(
        value,
        metadata={
            "results": len(results) + (1 if summary else 0),
            "summary_provider": summary.provider if summary else "none",
            "api_costs": MetadataValue.json(value.api_costs),
            "summary": MetadataValue.md(summary_markdown(value.summary)),
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
    metadata: dict = {"request_id": rid, "status": str(status)}
    if done:
        report = store_report(store, files, rid)
        if report is not None:
            write_step_files(context, store, rid, [report[1]])
            metadata["report"] = MetadataValue.path(report[0].remote_url or report[0].key)
        queued = record_end(store, rid, context.run, files.reader_url, callbacks.ui_base_url)
        if queued is not None:
            context.log.info(f"callback queued for request {rid}: {queued}")
            metadata["callback"] = MetadataValue.text(f"queued ({queued})")
    return Output(CompletedRequest(rid, status), metadata=metadata)
