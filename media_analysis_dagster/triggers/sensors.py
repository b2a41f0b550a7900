"""The sensors of ``media_analysis_job``: launch pending rows, keep rows true when runs end
outside the ops, stop the runs of rows cancelled in the table, fail runs whose worker died, and
deliver completion callbacks. ``build_sensors`` makes them from ``Settings`` values
(``definitions.py``).

- ``pending_requests_sensor``: one run per pending episode of a row (``pending_scan.py``).
- ``failed_run_sync_sensor`` / ``canceled_run_sync_sensor``: a run that failed or was cancelled
  outside the ops leaves its row ``failed`` / ``cancelled`` (``run_sync.py``).
- ``cancellation_sensor``: a row set to ``cancelled`` stops its queued/started run
  (``cancellation.py``).
- ``run_liveness_sensor``: a run whose worker died with its code server is failed
  (``run_liveness.py``).
- ``callback_delivery_sensor``: queued completion callbacks are delivered
  (``callback_delivery.py``).

All six start RUNNING: the table is only true while they run.

Settings (``settings.py``; each a whole number):

``MEDIA_ANALYSIS_SENSOR_INTERVAL_S`` (default 2)
    Seconds between ticks of ``pending_requests_sensor``. The sensor daemon itself loops every
    5 s (a Dagster constant), so anything below 5 means "every loop"; exactly 5 sometimes misses
    a loop and waits 10 s (benchmarks/drain.py). The query behind a tick is one indexed scan.
``MEDIA_ANALYSIS_SENSOR_BATCH`` (default 50)
    Run requests per tick at most. 50 every 5 s is far more than runs drain
    (about 40 a minute at the default 10 concurrent runs), so a 1,000-row burst keeps the queue
    full all along; launching faster would only lengthen the queue and the daemon's work per tick
    (it creates and enqueues each requested run itself, 0.1-0.3 s each here). The evaluation
    itself reads pending rows in pages of 200, two queries a page, and stops at the batch size,
    after 5,000 rows or after 40 s: measured 0.1-0.5 s for 1,000 pending rows of which 900 had
    queued runs, far inside Dagster's 60 s tick timeout.
``MEDIA_ANALYSIS_CANCELLATION_INTERVAL_S`` (default 15)
    Seconds between ticks of ``cancellation_sensor``.
``MEDIA_ANALYSIS_LIVENESS_INTERVAL_S`` (default 30), ``MEDIA_ANALYSIS_CALLBACK_INTERVAL_S`` (5)
    Seconds between ticks of ``run_liveness_sensor`` and ``callback_delivery_sensor``.

Run-status sensor throughput (Dagster 1.13, ``run_status_sensor_definition.py``): each tick reads
at most ``DAGSTER_RUN_STATUS_SENSOR_FETCH_LIMIT`` (default 25) run-status events of *any* job
after its cursor and handles at most ``DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT`` (default 5)
runs of the monitored job: with a 30 s interval, 10 a minute, so 200 failures take 20 minutes.
Both variables are read where the sensor is evaluated, i.e. in the code location's process
(the gRPC code server; when the daemon starts the code server itself, it inherits the daemon's
environment). To reflect a burst of 200 within about a minute, set in the code server's (and the
daemon's) environment::

    DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT=100
    DAGSTER_RUN_STATUS_SENSOR_FETCH_LIMIT=200

A handled run costs a few small queries, so 100 fit easily in one tick. So that the launching
sensor's run submissions do not hold up the others, run the sensor daemon with threads
(``dagster.yaml``: ``sensors: {use_threads: true, num_workers: 4, num_submit_workers: 4}``).

The sync functions return ``None`` on purpose: Dagster ends a run-status tick after the first run
whose function returns a value. An exception in them is logged on the tick and the cursor moves
past that run; the retention job's reaper fails rows left ``processing`` by dead runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagster import (
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunConfig,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from ..jobs import media_analysis_job
from ..pipeline.callbacks import record_end
from ..pipeline.request_config import RequestConfig
from ..resources import CallbackResource, DatabaseResource, FileStorageResource
from ..tags import TAG_MEDIA_TYPE, TAG_REQUEST_ID, TAG_SOURCE
from .callback_delivery import build_callback_delivery_sensor
from .cancellation import cancel_runs_of_cancelled_rows
from .pending_scan import Launch, scan_pending
from .run_liveness import build_run_liveness_sensor
from .run_sync import describe_cancellation, describe_failure, sync_ended_run

PAGE_SIZE = 200
MAX_SCANNED = 5000
TIME_BUDGET_S = 40.0


def _announcer(
    context: Any,
    database: DatabaseResource,
    files: FileStorageResource,
    callbacks: CallbackResource,
    run: DagsterRun,
) -> Any:
    """What a sensor calls when its update ended a request: queue the completion callback."""

    def announce(request_id: str) -> None:
        queued = record_end(
            database.store, request_id, run, files.reader_url, callbacks.ui_base_url
        )
        if queued is not None:
            context.log.info(f"callback queued for request {request_id}: {queued}")

    return announce


def run_request(launch: Launch) -> RunRequest:
    config = RequestConfig(request_id=launch.request_id, source_endpoint="sensor")
    return RunRequest(
        run_key=launch.run_key,
        run_config=RunConfig(ops={"register_request": config}),
        tags={
            TAG_REQUEST_ID: launch.request_id,
            TAG_MEDIA_TYPE: launch.media_type,
            TAG_SOURCE: "sensor",
        },
    )


def build_pending_requests_sensor(interval_s: int, batch: int) -> SensorDefinition:
    @sensor(
        name="pending_requests_sensor",
        job_name=media_analysis_job.name,
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Launch one run per pending episode of each media_analysis_requests row, "
        "oldest first.",
    )
    def pending_requests_sensor(
        context: SensorEvaluationContext, database: DatabaseResource
    ) -> Iterator[RunRequest | SkipReason]:
        """No cursor on purpose: every tick starts from the oldest pending row, so nothing
        committed late or left by a failed tick is ever skipped; Dagster's run history decides
        what is new."""
        store = database.store
        scan = scan_pending(
            page=lambda limit, offset: store.pending_page(limit=limit, offset=offset),
            statuses=store.statuses,
            instance=context.instance,
            job_name=media_analysis_job.name,
            batch=batch,
            page_size=PAGE_SIZE,
            max_scanned=MAX_SCANNED,
            time_budget_s=TIME_BUDGET_S,
        )
        summary = (
            f"{len(scan.launches)} to launch, {scan.in_flight} in flight, {len(scan.waiting)} "
            f"waiting for their last run's end to be recorded, {scan.scanned} pending rows read "
            f"(stopped by {scan.stopped_by})"
        )
        if scan.launches or scan.waiting:
            context.log.info(summary)
        if scan.waiting:
            context.log.warning(
                "pending rows whose last run ended without ending the row (the run-status "
                f"sensors will mark them): {', '.join(scan.waiting[:10])}"
            )
        for launch in scan.launches:
            yield run_request(launch)
        if not scan.launches:
            yield SkipReason(summary)

    return pending_requests_sensor


@run_failure_sensor(
    monitored_jobs=[media_analysis_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Mark the request failed when its run fails outside the ops (launch failure, "
    "crash, restart).",
)
def failed_run_sync_sensor(
    context: RunFailureSensorContext,
    database: DatabaseResource,
    files: FileStorageResource,
    callbacks: CallbackResource,
) -> None:
    """The ops cannot record a failure that happens outside a step; this does (returns None so
    the tick goes on to the next failed run)."""
    run = context.dagster_run
    message, details = describe_failure(context.instance, run, context.failure_event)
    on_end = _announcer(context, database, files, callbacks, run)
    outcome = sync_ended_run(
        database.store, context.instance, run, "failed", message, details, on_end
    )
    context.log.info(f"run {run.run_id}: {outcome}")


@run_status_sensor(
    run_status=DagsterRunStatus.CANCELED,
    monitored_jobs=[media_analysis_job],
    default_status=DefaultSensorStatus.RUNNING,
    description="Mark the request cancelled when its run is cancelled or terminated.",
)
def canceled_run_sync_sensor(
    context: RunStatusSensorContext,
    database: DatabaseResource,
    files: FileStorageResource,
    callbacks: CallbackResource,
) -> None:
    """A terminated run leaves no trace in the row otherwise (returns None, as above)."""
    run = context.dagster_run
    message, details = describe_cancellation(run)
    on_end = _announcer(context, database, files, callbacks, run)
    outcome = sync_ended_run(
        database.store, context.instance, run, "cancelled", message, details, on_end
    )
    context.log.info(f"run {run.run_id}: {outcome}")


def build_cancellation_sensor(interval_s: int) -> SensorDefinition:
    @sensor(
        name="cancellation_sensor",
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Stop the queued or started run of every request set to 'cancelled'.",
    )
    def cancellation_sensor(
        context: SensorEvaluationContext,
        database: DatabaseResource,
        files: FileStorageResource,
        callbacks: CallbackResource,
    ) -> SkipReason:
        """n8n and operators cancel by writing the table; without this their runs would go on
        spending provider money until ``complete_request`` refused the result."""

        def on_end(request_id: str, run: DagsterRun) -> None:
            _announcer(context, database, files, callbacks, run)(request_id)

        stopped = cancel_runs_of_cancelled_rows(
            context.instance, database.store, media_analysis_job.name, context.log, on_end=on_end
        )
        return SkipReason(f"cancelled {len(stopped)} run(s) of cancelled requests")

    return cancellation_sensor


def build_sensors(
    *,
    interval_s: int,
    batch: int,
    cancellation_interval_s: int,
    liveness_interval_s: int,
    callback_interval_s: int,
) -> list[SensorDefinition]:
    """Every sensor of the code location, with its interval and batch from ``Settings``."""
    return [
        build_pending_requests_sensor(interval_s, batch),
        failed_run_sync_sensor,
        canceled_run_sync_sensor,
        build_cancellation_sensor(cancellation_interval_s),
        build_run_liveness_sensor(liveness_interval_s),
        build_callback_delivery_sensor(callback_interval_s),
    ]
