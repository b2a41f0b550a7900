"""Offline reading in the pipeline: a scanned PDF's words reach ``text_analysis``, the summary
and search; a video's on-screen titles come back as a ``text_analysis`` result with their
times; ``MEDIA_ANALYSIS_OCR=off`` turns both off."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from media_analysis_fixtures.text_images import captioned_frame, photo, render_page, scan

from .harness import Pipeline

PARAGRAPHS = (
    "The refund policy covers every order placed before the end of March.",
    "Customers send the receipt and the serial number to the harbour office.",
)


def scanned_pdf(path: Path) -> Path:
    page, _ = render_page(PARAGRAPHS, dpi=150, font_pt=12)
    image = scan(page, rotate_deg=1.0, blur=0.6, noise=4.0, jpeg_quality=80)
    image.convert("RGB").save(path, "PDF", resolution=150.0)
    return path


def titled_video(path: Path, titles: list[tuple[float, str]], duration: float) -> Path:
    """A 640x360 H.264 video showing each title over a photograph from its start time."""
    import av

    background = photo("astronaut", (640, 360))
    frames = {text: np.asarray(captioned_frame(background, text)) for _, text in titles}
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for index in range(round(duration * 10)):
            now = index / 10
            text = [t for start, t in titles if start <= now][-1]
            frame = av.VideoFrame.from_ndarray(frames[text], format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_a_scanned_pdf_is_read(sqlite_pipeline: Pipeline) -> None:
    pdf = scanned_pdf(sqlite_pipeline.inbox / "scan.pdf")
    result = sqlite_pipeline.run(media_path=str(pdf))
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed", req
    by_type = {r["result_type"]: r for r in req["results"]}
    stats = by_type["text_analysis"]["content_json"]
    assert stats["words"] >= 20 and stats["language"] == "en"
    meta = by_type["metadata_extraction"]["content_json"]["document"]
    [page] = meta["pages"]
    assert page["read_by_ocr"] and page["ocr_confidence"] > 0.8 and not page["has_text_layer"]
    summary = by_type["summary"]["content"]
    assert 'page 1 (scanned) reads "' in summary and "refund" in summary.lower(), summary
    hits = sqlite_pipeline.store.search("harbour office")
    assert hits and hits[0]["request_id"] == req["request_id"] and hits[0]["page"] == 1


def test_on_screen_titles_are_read_with_their_times(sqlite_pipeline: Pipeline) -> None:
    titles = [(0.0, "QUARTERLY REVIEW"), (4.0, "REVENUE GREW SIX PERCENT")]
    clip = titled_video(sqlite_pipeline.inbox / "slides.mp4", titles, duration=8.0)
    result = sqlite_pipeline.run(media_path=str(clip), frame_count=6)
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed", req
    [screen] = [
        r
        for r in req["results"]
        if r["result_type"] == "text_analysis"
        and (r["content_json"] or {}).get("kind") == "on_screen_text"
    ]
    items = screen["content_json"]["ocr_text"]
    read = {item["text"]: item for item in items}
    assert set(read) >= {"QUARTERLY REVIEW", "REVENUE GREW SIX PERCENT"}, items
    assert (
        read["QUARTERLY REVIEW"]["first_time"]
        < 4.0
        <= read["REVENUE GREW SIX PERCENT"]["first_time"]
    )
    assert all(item["boxes"] for item in items) and screen["model_name"].startswith("rapidocr")
    assert len(read["QUARTERLY REVIEW"]["times"]) >= 2, "one item for the same words on frames"
    [summary] = [r["content"] for r in req["results"] if r["result_type"] == "summary"]
    assert "On screen the frames say" in summary and '"QUARTERLY REVIEW"' in summary, summary
    hit = sqlite_pipeline.store.search("revenue")[0]
    assert hit["kind"] == "ocr_text" and hit["start_s"] >= 4.0


def test_reading_can_be_turned_off(
    sqlite_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_OCR", "off")
    titles = [(0.0, "NOTHING TO READ HERE")]
    clip = titled_video(sqlite_pipeline.inbox / "off.mp4", titles, duration=3.0)
    result = sqlite_pipeline.run(media_path=str(clip), frame_count=2)
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None
    assert "text_analysis" not in {r["result_type"] for r in req["results"]}
