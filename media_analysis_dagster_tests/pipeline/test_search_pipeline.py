"""Search over what the real job wrote, on SQLite and PostgreSQL: a video whose sound track is an
espeak-ng sentence said from a known second is found by a word of its transcript at that time;
re-executing the transcription step leaves no duplicate hits; retention removes the hits with
the request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import ReexecutionOptions, RunConfig, instance_for_test
from sqlalchemy import update

from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.jobs.retention import retention_cleanup_job
from media_analysis_dagster.ops.retention import RetentionConfig
from media_analysis_fixtures.ffmpeg import run_ffmpeg
from media_analysis_fixtures.resources import resources_from_env
from media_analysis_fixtures.speech import make_speech_wav, require_espeak

from ..ops.harness import Pipeline, make_pipeline

SENTENCE = "Please read the refund policy before you buy a ticket."
SPOKEN_AT = 4.0


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> Iterator[Pipeline]:
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, db_url, instance)


def speaking_video(path: Path) -> Path:
    """12 s of a test picture whose sound is ``SENTENCE``, said from ``SPOKEN_AT`` seconds."""
    wav = make_speech_wav(path.with_suffix(".wav"), SENTENCE, lead_s=SPOKEN_AT, tail_s=4.0)
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=12",
            "-i", str(wav),
            "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-t", "12", str(path),
        ]
    )  # fmt: skip
    return path


def test_a_spoken_word_is_found_at_its_moment(pipeline: Pipeline, db_url: str) -> None:
    require_espeak()
    video = speaking_video(pipeline.inbox / "announcement.mp4")
    first = pipeline.run(media_path=str(video), frame_count=6)
    request = pipeline.request_of(first)
    assert first.success and request is not None and request["status"] == "completed", request
    rid = request["request_id"]

    hits = [h for h in pipeline.store.search("refund") if h["kind"] == "transcript"]
    assert [h["request_id"] for h in hits] == [rid], hits
    [hit] = hits
    assert hit["media_name"] == "announcement.mp4" and hit["media_type"] == "video"
    assert abs(hit["start_s"] - SPOKEN_AT) <= 1.0, hit
    assert "«refund»" in hit["snippet"].lower() and hit["language"] == "en"
    assert hit["anchor"].startswith("say-t=")
    assert {h["request_id"] for h in pipeline.store.search("tickets")} == {rid}

    again = pipeline.execute(
        reexecution_options=ReexecutionOptions(
            parent_run_id=first.run_id, step_selection=["analyze[transcription]"]
        )
    )
    assert again.success
    after = [h for h in pipeline.store.search("refund", limit=100) if h["kind"] == "transcript"]
    assert len(after) == 1 and after[0]["segment_id"] != hit["segment_id"], "replaced, once"
    assert abs(after[0]["start_s"] - SPOKEN_AT) <= 1.0

    with pipeline.store.engine.begin() as conn:  # the request is two months old
        conn.execute(
            update(MediaAnalysisRequest)
            .where(MediaAnalysisRequest.request_id == uuid.UUID(rid))
            .values(created_at=datetime.now(UTC) - timedelta(days=60))
        )
    retention = retention_cleanup_job.execute_in_process(
        instance=pipeline.instance,
        run_config=RunConfig(ops={"plan_retention": RetentionConfig(completed_days=30)}),
        resources=resources_from_env(
            MEDIA_ANALYSIS_DATABASE_URL=db_url, MEDIA_ANALYSIS_DATA_DIR=str(pipeline.data_dir)
        ),
    )
    assert retention.success and pipeline.store.get_request(rid) is None
    assert pipeline.store.search("refund") == []
    assert pipeline.store.segments_of(rid) == []
