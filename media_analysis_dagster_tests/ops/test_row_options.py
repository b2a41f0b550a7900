"""A pending row's ``user_metadata`` is untrusted input (n8n writes it): its options are
validated like run config, and a wrong one fails the row with one sentence naming the field,
before any file is written."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_fixtures import make_video

from .harness import Pipeline
from .test_failures import assert_failed_cleanly


@pytest.mark.parametrize(
    ("user_metadata", "words"),
    [
        ({"frame_count": "many"}, ["user_metadata.frame_count"]),
        ({"frame_count": 3000}, ["user_metadata.frame_count", "200"]),
        ({"frame_count": -4}, ["user_metadata.frame_count"]),
        ({"providers": [1, 2]}, ["user_metadata.providers"]),
        ({"provider_options": ["diarize"]}, ["user_metadata.provider_options"]),
        ({"grid_cols": 0}, ["user_metadata.grid_cols"]),
        (["frame_count", 4], ["user_metadata must be a JSON object", "array"]),
    ],
)
def test_invalid_row_options_fail_the_row(
    sqlite_pipeline: Pipeline, user_metadata: object, words: list[str]
) -> None:
    video = make_video(sqlite_pipeline.inbox / "clip.mp4", duration=2.0)
    store = sqlite_pipeline.store
    row = store.create_request(media_type="video", media_path=str(video))
    with store.session() as s, s.begin():  # as n8n's PostgreSQL node writes it
        s.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(row["request_id"]))
            .values(user_metadata=user_metadata)
        )
    result = sqlite_pipeline.run(request_id=row["request_id"])
    req = assert_failed_cleanly(sqlite_pipeline, result, "register_request", *words)
    assert "Error" not in req["error_message"], "no Python exception class in the sentence"


def test_valid_row_options_apply(sqlite_pipeline: Pipeline) -> None:
    video = make_video(sqlite_pipeline.inbox / "clip.mp4", duration=3.0)
    row = sqlite_pipeline.store.create_request(
        media_type="video",
        media_path=str(video),
        prompt="Who is in it, what happens, and where?\x00",
        user_metadata={"frame_count": "4", "grid_cols": 2, "grid_rows": 2},
    )
    result = sqlite_pipeline.run(request_id=row["request_id"])
    assert result.success
    req = sqlite_pipeline.request_of(result)
    assert req is not None and req["status"] == "completed"
    frames = [f for f in req["files"] if f["file_type"] == "frame"]
    assert len(frames) == 4
    assert req["prompt"].startswith("Who is in it, what happens, and where?")
