"""``retention_cleanup_job``'s ops: fail stuck requests, then delete expired ones and their files.

``plan_retention`` fixes "now" once, so every batch of the run judges age against the same
instant. Both loops are bounded (``max_batches``); whatever is left waits for the next run. A
dry run walks the same rows and reports the same counts without deleting or updating anything.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import Config, OpExecutionContext, Output, op
from pydantic import Field

from ..pipeline.callbacks import record_end
from ..pipeline.cleanup import delete_files, finished_run_ids, plan_files, request_run_verdict
from ..resources import CallbackResource, DatabaseResource, FileStorageResource

STATUS_DAYS = {
    "completed": "completed_days",
    "failed": "failed_days",
    "cancelled": "cancelled_days",
}


class RetentionConfig(Config):
    """How long finished requests are kept, and how the cleanup runs. Every value is optional;
    the schedule runs with the defaults."""

    completed_days: int | None = Field(
        default=30,
        ge=1,
        description="Delete completed requests older than this many days, 1 or more; null keeps "
        "them. Example: 90.",
    )
    failed_days: int | None = Field(
        default=30,
        ge=1,
        description="Delete failed requests older than this many days, 1 or more; null keeps "
        "them. Example: 14.",
    )
    cancelled_days: int | None = Field(
        default=7,
        ge=1,
        description="Delete cancelled requests older than this many days, 1 or more; null keeps "
        "them. Example: 7.",
    )
    dry_run: bool = Field(
        default=False,
        description="true: count what would be deleted or failed, and change nothing. "
        "Example: true.",
    )
    batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Requests handled per batch, 1-10000. Example: 500.",
    )
    max_batches: int = Field(
        default=100,
        ge=1,
        description="Batches per run at most, 1 or more; what is left waits for the next run. "
        "Example: 100.",
    )
    stuck_after_minutes: int | None = Field(
        default=60,
        ge=1,
        description="Mark failed a request that has been processing for longer than this many "
        "minutes while its Dagster run has finished or does not exist, 1 or more; null skips "
        "this check. Example: 60.",
    )
    delete_dagster_runs: bool = Field(
        default=False,
        description="true: also delete the finished Dagster runs of the deleted requests. "
        "Example: true.",
    )


@dataclass(frozen=True)
class RetentionPlan:
    """The config resolved against one fixed instant."""

    now: datetime
    retention: dict[str, timedelta]
    stuck_before: datetime | None
    dry_run: bool
    batch_size: int
    max_batches: int
    delete_dagster_runs: bool


@op(description="Fix the cleanup's cutoffs against one instant.")
def plan_retention(context: OpExecutionContext, config: RetentionConfig) -> Output[RetentionPlan]:
    now = datetime.now(UTC)
    retention = {
        status: timedelta(days=days)
        for status, name in STATUS_DAYS.items()
        if (days := getattr(config, name)) is not None
    }
    stuck = config.stuck_after_minutes
    plan = RetentionPlan(
        now=now,
        retention=retention,
        stuck_before=now - timedelta(minutes=stuck) if stuck is not None else None,
        dry_run=config.dry_run,
        batch_size=config.batch_size,
        max_batches=config.max_batches,
        delete_dagster_runs=config.delete_dagster_runs,
    )
    cutoffs = {f"{s}_before": (now - age).isoformat() for s, age in retention.items()}
    if plan.stuck_before is not None:
        cutoffs["processing_started_before"] = plan.stuck_before.isoformat()
    return Output(plan, metadata={**cutoffs, "dry_run": plan.dry_run})


@op(description="Fail requests stuck in processing whose Dagster run is finished or missing.")
def fail_stuck_requests(
    context: OpExecutionContext,
    plan: RetentionPlan,
    database: DatabaseResource,
    files: FileStorageResource,
    callbacks: CallbackResource,
) -> Output[dict[str, int]]:
    counts: Counter[str] = Counter(stuck_requests_failed=0, stuck_requests_left_alone=0)
    cutoff = plan.stuck_before
    if cutoff is None:
        return Output(dict(counts), metadata={**counts, "dry_run": plan.dry_run})
    store, offset = database.store, 0
    for _ in range(plan.max_batches):
        batch = store.find_stuck(cutoff, limit=plan.batch_size, offset=offset)
        if not batch:
            break
        for row in batch:
            rid = row["request_id"]
            verdict = request_run_verdict(context.instance, rid)
            if verdict.alive:
                counts["stuck_requests_left_alone"] += 1
                offset += 1
                continue
            message = verdict.stuck_message()
            if plan.dry_run:
                offset += 1  # nothing changes, so page past it
            else:
                details = {
                    "run_id": verdict.run_id,
                    "run_status": verdict.status,
                    "step": "retention_cleanup",
                    "error_type": "StuckRequest",
                    "message": message,
                    "retention_run_id": context.run_id,
                    "hints": ["Set the row back to 'pending' to process it again."],
                }
                if not store.fail_request(rid, message, details, from_statuses=("processing",)):
                    continue  # it left processing meanwhile; it is no longer in the result set
                context.log.warning(f"request {rid}: {message}")
                run = context.instance.get_run_by_id(verdict.run_id) if verdict.run_id else None
                record_end(store, rid, run, files.reader_url, callbacks.ui_base_url)
            counts["stuck_requests_failed"] += 1
    else:
        context.log.warning(f"stopped after {plan.max_batches} batches; next run continues")
    return Output(dict(counts), metadata={**counts, "dry_run": plan.dry_run})


def _delete_objects(files: FileStorageResource, request_id: str, dry_run: bool) -> int:
    from ..storage import request_prefix

    prefix = request_prefix(request_id)
    if dry_run:
        return len(files.artifacts().list(prefix))
    return files.artifacts().delete_prefix(prefix)


def _delete_runs(context: OpExecutionContext, request_ids: list[str], dry_run: bool) -> int:
    """Delete (or count) the finished Dagster runs of these requests."""
    run_ids = finished_run_ids(context.instance, request_ids)
    if not dry_run:
        for run_id in run_ids:
            context.instance.delete_run(run_id)
    return len(run_ids)


def _delete_request_files(
    context: OpExecutionContext,
    files: FileStorageResource,
    paths: dict[str, list[str]],
    dry_run: bool,
    counts: Counter[str],
) -> None:
    """Delete (or count, in a dry run) the files of these requests inside the data dir."""
    for rid, request_paths in paths.items():
        if files.remote:  # objects go by the request's key prefix
            counts["objects_deleted"] += _delete_objects(files, rid, dry_run)
        # Object keys are relative; only absolute paths are files of the local storage.
        local = [p for p in request_paths if Path(p).is_absolute()]
        found = plan_files(files.root(), rid, local)
        for path in found.outside:
            context.log.warning(
                f"request {rid}: {path} is outside {files.root() / 'requests'}; left alone"
            )
        counts["paths_skipped_outside_data_dir"] += len(found.outside)
        deleted_files, freed = (
            (len(found.files), found.size) if dry_run else delete_files(files.root(), found)
        )
        counts["files_deleted"] += deleted_files
        counts["bytes_freed"] += freed


@op(description="Delete expired requests (rows cascade), their files, optionally their runs.")
def delete_expired_requests(
    context: OpExecutionContext,
    plan: RetentionPlan,
    stuck: dict[str, int],
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[dict[str, Any]]:
    counts: Counter[str] = Counter(
        expired_found=0,
        requests_deleted=0,
        files_deleted=0,
        bytes_freed=0,
        paths_skipped_outside_data_dir=0,
        dagster_runs_deleted=0,
    )
    if files.remote:
        counts["objects_deleted"] = 0
    store, offset = database.store, 0
    for _ in range(plan.max_batches if plan.retention else 0):
        batch = store.find_expired(
            plan.retention, limit=plan.batch_size, now=plan.now, offset=offset
        )
        if not batch:
            break
        ids = [row["request_id"] for row in batch]
        counts["expired_found"] += len(ids)
        _delete_request_files(context, files, store.file_paths(ids), plan.dry_run, counts)
        # files first: if the run dies here, the rows are still expired and the next run retries
        deleted = len(ids) if plan.dry_run else store.delete_requests(ids)
        counts["requests_deleted"] += deleted
        if plan.delete_dagster_runs:
            counts["dagster_runs_deleted"] += _delete_runs(context, ids, plan.dry_run)
        offset += len(ids) if plan.dry_run else len(ids) - deleted
    else:
        if plan.retention:
            context.log.warning(f"stopped after {plan.max_batches} batches; next run continues")
    report: dict[str, Any] = {
        **counts,
        "stuck_requests_failed": stuck.get("stuck_requests_failed", 0),
        "dry_run": plan.dry_run,
    }
    verb = "would delete" if plan.dry_run else "deleted"
    context.log.info(
        f"retention {verb} {counts['requests_deleted']} requests, {counts['files_deleted']} "
        f"files ({counts['bytes_freed']} bytes); {report['stuck_requests_failed']} stuck failed"
    )
    return Output(report, metadata=report)
