"""``retention_cleanup_job``: keep the tables and the data dir from growing forever.

It runs in process (three small steps; a subprocess per step would cost more than the work) and
carries a maintenance tag, so ``dagster.yaml`` can allow one cleanup at a time.
"""

from __future__ import annotations

from dagster import in_process_executor, job

from ..ops.retention import delete_expired_requests, fail_stuck_requests, plan_retention
from ..tags import MAINTENANCE_TAG


@job(
    executor_def=in_process_executor,
    tags={MAINTENANCE_TAG: "retention"},
    description="Fail requests stuck in processing whose run has ended, then delete expired "
    "requests (rows cascade) and their files inside MEDIA_ANALYSIS_DATA_DIR.",
)
def retention_cleanup_job() -> None:
    plan = plan_retention()
    delete_expired_requests(plan, fail_stuck_requests(plan))
