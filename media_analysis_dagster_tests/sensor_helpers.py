"""Shared helpers of the sensor tests: a real Dagster instance, runs created as the daemon creates
them, and a way to move a row's ``created_at`` (the store never rewrites history)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    RunConfig,
    RunRequest,
    SensorDefinition,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
)
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin
from sqlalchemy import update

from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.definitions import build_definitions
from media_analysis_dagster.jobs import media_analysis_job
from media_analysis_dagster.pipeline.request_config import RequestConfig
from media_analysis_dagster.settings import load_settings
from media_analysis_dagster.tags import RUN_KEY_TAG, TAG_REQUEST_ID, TAG_SOURCE
from media_analysis_fixtures.resources import resources_from_env

SENSOR_NAME_TAG = "dagster/sensor_name"


def sensor_resources(db_url: str, **env: str) -> dict[str, Any]:
    """What the sensors use (the tables, the artifact store, completion callbacks), built from
    the environment as the code location builds them."""
    return resources_from_env(MEDIA_ANALYSIS_DATABASE_URL=db_url, **env)


def sensor_named(name: str) -> Any:
    """A sensor as the code location defines it with the current environment (intervals and
    batch sizes come from ``Settings``)."""
    return build_definitions(load_settings()).resolve_sensor_def(name)


def tick(sensor_def: Any, instance: DagsterInstance, db_url: str) -> list[Any]:
    """Evaluate a plain sensor once, as the daemon would, and return what it yielded."""
    with build_sensor_context(instance=instance, resources=sensor_resources(db_url)) as context:
        result = sensor_def(context)
        result = (
            result if result is None or isinstance(result, RunRequest | SkipReason) else [*result]
        )
    if result is None:
        return []
    if isinstance(result, RunRequest | SkipReason):
        return [result]
    return list(result)


def run_requests(items: Iterable[Any]) -> list[RunRequest]:
    return [i for i in items if isinstance(i, RunRequest)]


# Queued runs need an origin: the code location the daemon would have loaded the job from.
ORIGIN = RemoteRepositoryOrigin(
    RegisteredCodeLocationOrigin("media_analysis_dagster"), "__repository__"
).get_job_origin(media_analysis_job.name)

_STATUS_EVENTS = {
    DagsterRunStatus.QUEUED: DagsterEventType.PIPELINE_ENQUEUED,
    DagsterRunStatus.STARTING: DagsterEventType.PIPELINE_STARTING,
    DagsterRunStatus.STARTED: DagsterEventType.PIPELINE_START,
    DagsterRunStatus.FAILURE: DagsterEventType.PIPELINE_FAILURE,
    DagsterRunStatus.CANCELED: DagsterEventType.PIPELINE_CANCELED,
}


def move_run(instance: DagsterInstance, run: DagsterRun, status: DagsterRunStatus) -> DagsterRun:
    """Put a run into ``status`` through the event the daemon or run worker would write."""
    if status != DagsterRunStatus.NOT_STARTED:
        event = DagsterEvent(event_type_value=_STATUS_EVENTS[status].value, job_name=run.job_name)
        instance.report_dagster_event(event, run_id=run.run_id)
    fresh = instance.get_run_by_id(run.run_id)
    assert fresh is not None and fresh.status == status
    return fresh


def create_runs(
    instance: DagsterInstance,
    requests: Iterable[RunRequest],
    status: DagsterRunStatus = DagsterRunStatus.QUEUED,
) -> list[DagsterRun]:
    """Create the runs of run requests the way the sensor daemon does (run key and sensor
    name tags), left ``status`` (queued by default)."""
    runs = [
        instance.create_run_for_job(
            job_def=media_analysis_job,
            run_config=rr.run_config,
            tags={**rr.tags, RUN_KEY_TAG: rr.run_key or "", SENSOR_NAME_TAG: "test"},
            remote_job_origin=ORIGIN,
        )
        for rr in requests
    ]
    return [move_run(instance, run, status) for run in runs]


def create_run_for(
    instance: DagsterInstance,
    request_id: str,
    status: DagsterRunStatus = DagsterRunStatus.QUEUED,
    **tags: str,
) -> DagsterRun:
    """A run for one request launched some other way (GraphQL, UI) with the request tag."""
    config = RunConfig(ops={"register_request": RequestConfig(request_id=request_id)})
    run = instance.create_run_for_job(
        job_def=media_analysis_job,
        run_config=config.to_config_dict(),
        tags={TAG_REQUEST_ID: request_id, TAG_SOURCE: "graphql", **tags},
        remote_job_origin=ORIGIN,
    )
    return move_run(instance, run, status)


def set_times(store: Store, request_id: str, **times: datetime | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(request_id))
            .values(**times)
        )


def new_rows(store: Store, n: int) -> list[str]:
    return [
        store.create_request(media_type="video", media_path=f"/in/{i}.mp4")["request_id"]
        for i in range(n)
    ]


def sync(
    sensor_def: SensorDefinition,
    instance: DagsterInstance,
    db_url: str,
    run_id: str,
    event: DagsterEvent | None,
) -> None:
    """Hand one ended run to a run-status sensor, as the sensor daemon does."""
    run = instance.get_run_by_id(run_id)
    assert run is not None and event is not None
    with build_run_status_sensor_context(
        sensor_name=sensor_def.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources=sensor_resources(db_url),
    ) as context:
        assert sensor_def(context) is None, "returning a value would end the tick after one run"


def set_status(store: Store, request_id: str, status: str) -> None:
    """A plain status write, as an operator or n8n would do it with SQL (e.g. re-pending)."""
    with store.session() as s, s.begin():
        s.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(str(request_id)))
            .values(status=status)
        )


def end_as_cancelled(store: Store, request_id: str, message: str, details: dict[str, Any]) -> bool:
    """What a user's cancellation through the store looks like (``end_request('cancelled')``)."""
    return store.end_request(request_id, "cancelled", message, details)
