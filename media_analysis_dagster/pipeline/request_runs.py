"""The Dagster runs of a request, and whether a failed one is about to be retried.

Every run of ``media_analysis_job`` carries the tag ``media_analysis/request_id`` (the sensor,
GraphQL, the CLI and ``register_request`` all set it), so "which runs belong to this request?" is
one indexed tag query for a whole page of requests. The launching sensor, the run-status sync,
retention's stuck check and its run deletion all ask it here, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import DagsterInstance, DagsterRun, RunRecord, RunsFilter

from ..tags import TAG_REQUEST_ID


def will_retry(run: DagsterRun) -> bool:
    """A failed run whose automatic retry (``run_retries``) has not been launched yet: the retry
    owns the request, so nothing may end or relaunch it meanwhile."""
    return bool(run.is_complete_and_waiting_to_retry)


def runs_by_request(
    instance: DagsterInstance, request_ids: Sequence[str], job_name: str | None = None
) -> dict[str, list[RunRecord]]:
    """Every run tagged with one of the ids (of ``job_name`` when given), newest first, in one
    query (tag value lists are an ``IN`` on the indexed ``run_tags(key, value)``)."""
    out: dict[str, list[RunRecord]] = {rid: [] for rid in request_ids}
    if not request_ids:
        return out
    records = instance.get_run_records(
        filters=RunsFilter(job_name=job_name, tags={TAG_REQUEST_ID: list(request_ids)})
    )
    for record in records:
        rid = record.dagster_run.tags.get(TAG_REQUEST_ID)
        if rid in out:
            out[rid].append(record)
    for runs in out.values():
        runs.sort(key=lambda r: (r.create_timestamp, r.storage_id), reverse=True)
    return out
