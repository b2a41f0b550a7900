"""``media_analysis_job`` end to end on the offline internal provider, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from media_analysis_fixtures import cut_times, make_audio, make_video, read_counter
from media_analysis_fixtures.counter_video import make_pattern_video
from media_analysis_fixtures.documents import write_image_pdf, write_text_pdf

from .harness import Pipeline

ENGLISH = (
    "The committee reviewed the annual budget and approved the new library. "
    "Members discussed the roads, the schools and the water supply in detail. "
) * 8


def _by_type(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def _step_keys(result) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}


@pytest.mark.parametrize("media_type", ["video", "auto"])
def test_video_with_audio(pipeline: Pipeline, media_type: str) -> None:
    video = make_video(pipeline.inbox / "clip.mp4", duration=8.0, size=(320, 240), fps=25)
    result = pipeline.run(
        media_path=str(video), media_type=media_type, prompt="How many scenes?", frame_count=7
    )
    assert result.success
    req = pipeline.request_of(result)
    assert req is not None and req["status"] == "completed", req
    assert req["media_type"] == "video" and req["completed_at"] and req["started_at"]
    assert req["processing_time_ms"] > 0 and req["error_message"] is None
    assert req["api_costs"]["total"] == 0.0 and req["api_costs"]["internal"] == 0.0
    chain = req["provider_chain"]
    assert {a["result_type"] for a in chain} >= {
        "metadata_extraction",
        "scene_detection",
        "face_detection",
        "audio_analysis",
        "summary",
    }
    assert all(a["status"] == "success" and "ms" in a and "cost_usd" in a for a in chain)

    files = _by_type(req["files"], "file_type")
    assert len(files["original"]) == 1 and len(files["original"][0]["checksum"]) == 64
    assert files["original"][0]["mime_type"] == "video/mp4"
    assert files["original"][0]["duration_seconds"] == pytest.approx(8.0, abs=0.1)
    frames = sorted(files["frame"], key=lambda f: f["sequence_order"])
    assert len(frames) == 7
    interval = 8.0 / 7
    for i, f in enumerate(frames):
        target = (i + 0.5) * interval
        # default mode: within a quarter interval of the target; frame_number is the true one
        assert abs(f["frame_number"] / 25 - target) <= interval / 4 + 1 / 25
        assert (f["width"], f["height"]) == (320, 240) and Path(f["file_path"]).is_file()
    assert len(files["audio"]) == 1 and files["audio"][0]["mime_type"] == "audio/wav"
    sheets = sorted(req["contact_sheets"], key=lambda s: s["sheet_number"])
    assert [s["frame_count"] for s in sheets] == [6, 1]
    assert all(
        s["grid_cols"] == 2
        and s["grid_rows"] == 3
        and s["total_sheets"] == 2
        and s["frames_per_sheet"] == 6
        and s["generation_method"] == "custom"
        and s["frame_interval_seconds"] == pytest.approx(interval, abs=0.01)
        and s["file_id"] in {f["file_id"] for f in files["contact_sheet"]}
        for s in sheets
    )
    for s in files["contact_sheet"]:
        with Image.open(s["file_path"]) as img:
            assert img.size == (s["width"], s["height"])

    results = _by_type(req["results"], "result_type")
    cuts = results["scene_detection"][0]["content_json"]["cut_times"]
    expected = cut_times(8.0, 4)
    assert len(cuts) == len(expected)
    assert all(abs(a - b) <= 0.5 for a, b in zip(cuts, expected, strict=True))
    assert results["motion_analysis"][0]["content_json"]["mean_motion"] >= 0
    assert results["audio_analysis"][0]["content_json"]["duration"] == pytest.approx(8, abs=0.2)
    assert len(results["summary"]) == 1 and "scene" in results["summary"][0]["content"].lower()
    for r in req["results"]:
        assert r["provider"] == "internal" and r["model_name"] and r["processing_time_ms"] >= 0
    assert _step_keys(result) >= {
        "register_request",
        "fetch_media",
        "extract_frames",
        "build_contact_sheets",
        "extract_audio",
        "plan_analyses",
        "analyze[scene_detection]",
        "aggregate",
        "complete_request",
    }
    assert "extract_document" not in _step_keys(result)


def test_accurate_frames_are_at_targets(pipeline: Pipeline) -> None:
    video = make_video(pipeline.inbox / "gop.mp4", duration=6.0, fps=25, gop=250, audio=False)
    result = pipeline.run(media_path=str(video), accurate_frames=True, frame_count=6)
    req = pipeline.request_of(result)
    assert req["status"] == "completed"
    for f in sorted(req["files"], key=lambda f: f["sequence_order"] or 0):
        if f["file_type"] == "frame":
            target = (f["sequence_order"] + 0.5) * 1.0
            assert abs(f["frame_number"] / 25 - target) <= 1 / 25 + 1e-6
    assert "audio" not in {f["file_type"] for f in req["files"]}


@pytest.mark.parametrize("where", ["run_config", "pending_row"])
def test_scene_aware_cover_a_short_scene(pipeline: Pipeline, where: str) -> None:
    """Issue 12: evenly spaced frames miss a 0.4 s last scene; with ``scene_aware`` the
    request detects scenes first and one of its frames shows that scene."""
    values: list[int | None] = [3] * 140 + [12] * 10
    video = make_pattern_video(pipeline.inbox / "short_scene.mp4", values)
    if where == "run_config":
        result = pipeline.run(media_path=str(video), frame_count=6, scene_aware=True)
    else:
        row = pipeline.store.create_request(
            media_type="video",
            media_path=str(video),
            user_metadata={"frame_count": 6, "scene_aware": True},
        )
        result = pipeline.run(request_id=row["request_id"])
    req = pipeline.request_of(result)
    assert req["status"] == "completed", req.get("error_message")
    frames = sorted(
        (f for f in req["files"] if f["file_type"] == "frame"), key=lambda f: f["sequence_order"]
    )
    shown = [read_counter(Image.open(f["file_path"])) for f in frames]
    assert shown == [3] * 5 + [12]
    plain = pipeline.request_of(pipeline.run(media_path=str(video), frame_count=6))
    assert 12 not in [
        read_counter(Image.open(f["file_path"]))
        for f in plain["files"]
        if f["file_type"] == "frame"
    ]


@pytest.mark.parametrize("media_type", ["audio", "auto"])
def test_audio_only(pipeline: Pipeline, media_type: str) -> None:
    audio = make_audio(pipeline.inbox / "tone.m4a", duration=5.0)
    result = pipeline.run(media_path=str(audio), media_type=media_type)
    req = pipeline.request_of(result)
    assert result.success and req["status"] == "completed" and req["media_type"] == "audio"
    files = _by_type(req["files"], "file_type")
    assert set(files) == {"original", "audio", "processed"}, "a tone is no speech: no subtitles"
    results = _by_type(req["results"], "result_type")
    # With no key, the offline speech-to-text is the transcription chain (issue 12): it hears
    # no words in a tone, and says so truthfully with an empty transcript.
    assert set(results) == {"metadata_extraction", "audio_analysis", "transcription", "summary"}
    [heard] = results["transcription"]
    assert heard["provider"] == "internal" and not (heard["content"] or "").strip()
    analysis = results["audio_analysis"][0]["content_json"]
    assert analysis["duration"] == pytest.approx(5.0, abs=0.2) and analysis["silence_segments"]
    assert {"extract_frames", "extract_document"}.isdisjoint(_step_keys(result))


@pytest.mark.parametrize("media_type", ["document", "auto"])
def test_pdf_with_text_and_scanned_page(pipeline: Pipeline, media_type: str) -> None:
    pdf = write_text_pdf(pipeline.inbox / "report.pdf", [ENGLISH, "Second page " + ENGLISH])
    result = pipeline.run(media_path=str(pdf), media_type=media_type, prompt="What language?")
    req = pipeline.request_of(result)
    assert req["status"] == "completed" and req["media_type"] == "document"
    results = _by_type(req["results"], "result_type")
    assert results["text_analysis"][0]["content_json"]["language"] == "en"
    meta = results["metadata_extraction"][0]["content_json"]
    assert meta["document"]["page_count"] == 2 and meta["document"]["kind"] == "pdf"
    assert "en" in results["summary"][0]["content"]
    scanned = write_image_pdf(pipeline.inbox / "scan.pdf", pages=2)
    req2 = pipeline.request_of(pipeline.run(media_path=str(scanned), media_type=media_type))
    assert req2["status"] == "completed"
    previews = [f for f in req2["files"] if f["file_type"] == "preview"]
    assert len(previews) == 2 and all(Path(p["file_path"]).is_file() for p in previews)


@pytest.mark.parametrize("media_type", ["document", "auto"])
def test_plain_text_and_image(pipeline: Pipeline, media_type: str) -> None:
    text = pipeline.inbox / "notes.txt"
    text.write_text(ENGLISH)
    req = pipeline.request_of(pipeline.run(media_path=str(text), media_type=media_type))
    assert req["status"] == "completed" and req["media_type"] == "document"
    assert {r["result_type"] for r in req["results"]} == {
        "metadata_extraction",
        "text_analysis",
        "summary",
    }
    image = pipeline.inbox / "photo.png"
    Image.new("RGB", (64, 48), "orange").save(image)
    req = pipeline.request_of(pipeline.run(media_path=str(image), media_type=media_type))
    assert req["status"] == "completed" and req["media_type"] == "document"
    original = next(f for f in req["files"] if f["file_type"] == "original")
    assert original["mime_type"] == "image/png"


def test_pending_row_is_claimed_once(pipeline: Pipeline) -> None:
    video = make_video(pipeline.inbox / "v.mp4", duration=3.0, audio=False)
    rid = pipeline.store.create_request(media_type="video", media_path=str(video))["request_id"]
    first = pipeline.run(request_id=rid)
    assert first.success
    before = pipeline.store.get_request(rid)
    second = pipeline.run(request_id=rid)
    assert not second.success
    step, message = pipeline.failure(second)
    assert step == "register_request" and "is completed, not pending" in message
    assert pipeline.store.get_request(rid) == before


def test_step_reexecution_replaces_rows(pipeline: Pipeline) -> None:
    from dagster import ReexecutionOptions

    video = make_video(pipeline.inbox / "v.mp4", duration=4.0, audio=False)
    first = pipeline.run(media_path=str(video))
    req = pipeline.request_of(first)
    sheet_ids = {s["contact_sheet_id"] for s in req["contact_sheets"]}
    again = pipeline.execute(
        reexecution_options=ReexecutionOptions(
            parent_run_id=first.run_id, step_selection=["build_contact_sheets"]
        )
    )
    assert again.success
    after = pipeline.store.get_request(req["request_id"])
    assert len(after["contact_sheets"]) == len(req["contact_sheets"])
    assert {s["contact_sheet_id"] for s in after["contact_sheets"]}.isdisjoint(sheet_ids)
    assert len(after["files"]) == len(req["files"]) and after["status"] == "completed"
    on_disk = pipeline.files_on_disk(req["request_id"])
    assert sorted(Path(f["file_path"]) for f in after["files"]) == on_disk


def test_real_counter_video_if_available(pipeline: Pipeline) -> None:
    from media_analysis_fixtures.real_media import real_media

    source = real_media("pyscenedetect", "counter.mp4")
    video = Path(shutil.copy(source, pipeline.inbox / "counter.mp4"))
    req = pipeline.request_of(pipeline.run(media_path=str(video), frame_count=6))
    assert req["status"] == "completed"
    frames = [f for f in req["files"] if f["file_type"] == "frame"]
    assert len(frames) == 6 and all(0 <= f["frame_number"] < 30 for f in frames)
