"""Bad run config never becomes a run: ``media_analysis_job`` refuses it where Dagster builds the
execution plan (what ``launchRun`` and the launchpad's Launch button ask the code location for),
with the validator's sentence, before any run or row exists. The launchpad can mark what the
config schema itself knows (the media_type enum) before anything is launched.

These also guard the private behaviour ``dagster_internals/checked_config.py`` relies on: that
the op's config type is our checked shape (not a cached plain ``Shape``) and that Dagster calls its
``post_process`` and lets the validator's own error through.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInvalidConfigError, instance_for_test, validate_run_config
from sqlalchemy import update

from media_analysis_dagster.db.constants import MEDIA_TYPES
from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.errors import InvalidRequestError
from media_analysis_dagster.jobs import media_analysis_job
from media_analysis_dagster.ops.register import register_request
from media_analysis_fixtures import make_video

from ..ops.harness import Pipeline, make_pipeline

URL = "https://example.com/clip.mp4"

REFUSED_AT_LAUNCH: list[tuple[dict[str, Any] | None, str]] = [
    (None, "Give exactly one of media_url or media_path; neither was given."),
    ({}, "Give exactly one of media_url or media_path; neither was given."),
    (
        {"prompt": "What happens?"},
        "Give exactly one of media_url or media_path; neither was given.",
    ),
    (
        {"media_url": URL, "media_path": "/srv/a.mp4"},
        "Give exactly one of media_url or media_path, not both.",
    ),
    ({"media_url": URL, "frame_count": 500}, "frame_count must be between 1 and 200, not 500."),
    ({"media_url": URL, "frame_count": 0}, "frame_count must be between 1 and 200, not 0."),
    ({"media_url": URL, "grid_cols": 0}, "grid_cols must be between 1 and 10, not 0."),
    ({"media_url": URL, "grid_rows": 11}, "grid_rows must be between 1 and 10, not 11."),
    ({"request_id": "row-7"}, "request_id must be a UUID, not 'row-7'."),
    (
        {"media_url": URL, "callback_url": "ftp://hooks.example.com/x"},
        "callback_url must be an http(s) URL, not 'ftp://hooks.example.com/x'.",
    ),
    (
        {"media_url": URL, "providers": ["opneai"]},
        "providers must name known providers (anthropic, deepgram, google, groq, internal, "
        "minimax, openai), not 'opneai'.",
    ),
]


def run_config(config: dict[str, Any] | None) -> dict[str, Any]:
    return {} if config is None else {"ops": {"register_request": {"config": config}}}


@pytest.mark.parametrize(("config", "sentence"), REFUSED_AT_LAUNCH, ids=lambda v: str(v)[:40])
def test_the_plan_is_refused_with_the_sentence(
    config: dict[str, Any] | None, sentence: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        validate_run_config(media_analysis_job, run_config(config))
    assert str(refused.value) == sentence


def test_good_configs_still_make_a_plan() -> None:
    for config in (
        {"media_url": URL},
        {"media_path": "/srv/media/inbox/clip.mp4", "media_type": "video", "frame_count": 200},
        {"request_id": str(uuid.uuid4()), "source_endpoint": "sensor"},
    ):
        validated = validate_run_config(media_analysis_job, run_config(config))
        assert validated["ops"]["register_request"]["config"]["media_type"] in MEDIA_TYPES


def test_the_schema_marks_a_bad_media_type_before_launch() -> None:
    """media_type is an Enum in the config schema: refused by schema validation (what the
    launchpad and ``isPipelineConfigValid`` run), not later."""
    shape: Any = register_request.config_schema.config_type
    enum = shape.fields["media_type"].config_type.inner_type  # Noneable(Enum): null = auto
    assert [v.config_value for v in enum.enum_values] == list(MEDIA_TYPES)
    with pytest.raises(DagsterInvalidConfigError, match="media_type"):
        validate_run_config(
            media_analysis_job, run_config({"media_url": URL, "media_type": "vdieo"})
        )


@pytest.fixture
def pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> Iterator[Pipeline]:
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, sqlite_url, instance)


def test_a_refused_config_leaves_no_run_and_no_row(pipeline: Pipeline) -> None:
    video = make_video(pipeline.inbox / "clip.mp4", duration=1.0)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"media_path": str(video), "media_url": URL}, "not both"),
        ({"media_path": str(video), "frame_count": 500}, "frame_count must be between 1 and 200"),
    ]
    for config, sentence in refused:
        with pytest.raises(InvalidRequestError, match=sentence):
            pipeline.run(**config)
    assert pipeline.instance.get_runs_count() == 0
    assert pipeline.store.list_requests()["total"] == 0


def test_a_pending_row_with_the_same_mistake_gets_the_same_sentence(pipeline: Pipeline) -> None:
    """A row inserted by hand was never launched: its run starts, and register_request fails the
    row with the sentence run config would have got, prefixed by where the value was."""
    video = make_video(pipeline.inbox / "clip.mp4", duration=1.0)
    with pytest.raises(InvalidRequestError) as refused:
        pipeline.run(media_path=str(video), frame_count=500)
    row = pipeline.store.create_request(media_type="video", media_path=str(video))
    with pipeline.store.session() as s, s.begin():  # as n8n's PostgreSQL node writes it
        s.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(row["request_id"]))
            .values(user_metadata={"frame_count": 500})
        )
    result = pipeline.run(request_id=row["request_id"])
    assert not result.success
    sentence = f"user_metadata.{refused.value}"
    step, message = pipeline.failure(result)
    assert step == "register_request" and message.strip().endswith(sentence)
    stored = pipeline.store.get_request(row["request_id"])
    assert stored is not None and stored["status"] == "failed"
    assert stored["error_message"] == sentence
