"""The report of requests made by real runs: a video with speech, a PDF, an audio file and a
request that failed, rendered from their rows as ``Store.get_request`` returns them."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from media_analysis_dagster.report import render_report, write_report
from media_analysis_fixtures import make_audio
from media_analysis_fixtures.documents import write_text_pdf
from media_analysis_fixtures.speech import require_espeak

from ..ops.harness import Pipeline
from .runs import CUTS, add_scene_thumbnails, local_read, make_speech_video


class Anchors(HTMLParser):
    """Every id, every image source, and the text of each element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if values.get("id"):
            self.ids.append(str(values["id"]))
        if tag == "img":
            self.images.append(values)


def parse(html: str) -> Anchors:
    parser = Anchors()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    """The page's text, tags removed (entities kept as written)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def finished(pipeline: Pipeline, **config: Any) -> dict[str, Any]:
    result = pipeline.run(**config)
    row = pipeline.request_of(result)
    assert row is not None
    return row


def test_video_with_speech(sqlite_pipeline: Pipeline, tmp_path: Path) -> None:
    require_espeak()
    video = make_speech_video(sqlite_pipeline.inbox / "talk.mp4")
    row = finished(sqlite_pipeline, media_path=str(video), media_type="video", frame_count=6)
    assert row["status"] == "completed", row["error_message"]
    row = add_scene_thumbnails(sqlite_pipeline.store, row, tmp_path / "thumbs")
    path = write_report(row, local_read, tmp_path / "out" / "report.html")
    html = path.read_text(encoding="utf-8")
    page = parse(html)
    text = text_of(html)

    assert "talk.mp4" in text and "Completed" in text and "video" in text
    assert "Contact sheets" in text and "Scenes" in text and "Transcript" in text
    # one anchor per scene at its start time, each with its picture
    scene_ids = [i for i in page.ids if i.startswith("t=")]
    assert len(scene_ids) == 3
    assert [float(i[2:]) for i in scene_ids] == pytest.approx([0.0, *CUTS], abs=0.1)
    pictures = [img for img in page.images if (img.get("alt") or "").startswith("Scene")]
    assert len(pictures) == 3
    sheets = [img for img in page.images if (img.get("alt") or "").startswith("Contact sheet")]
    assert len(sheets) == 1 and all(
        (img.get("src") or "").startswith("data:image/jpeg;base64,") for img in page.images
    )
    # the transcript with times and anchors; words of both sentences
    lines = [i for i in page.ids if i.startswith("say-t=")]
    assert lines and float(lines[0][6:]) < 2.0
    assert "fox" in text.lower() and "afternoon" in text.lower()  # tiny.en hears most words
    assert re.search(r"00:0\d", text)
    # every result with its provider, and the costs
    for kind in ("scene detection", "transcription", "summary", "metadata extraction"):
        assert kind in text.lower(), kind
    assert "internal" in text and "$0" in text
    assert "script" not in page.tags and "Why it failed" not in text


def test_scene_pictures_fall_back_to_sampled_frames(sqlite_pipeline: Pipeline) -> None:
    """Without stored scene thumbnails, each scene shows the first extracted frame inside it."""
    video = make_speech_video(sqlite_pipeline.inbox / "talk.mp4")
    row = finished(sqlite_pipeline, media_path=str(video), media_type="video", frame_count=6)
    assert row["status"] == "completed", row["error_message"]
    row = {**row, "files": [f for f in row["files"] if f["file_type"] != "thumbnail"]}
    html = render_report(row, local_read)
    scenes = [img for img in parse(html).images if (img.get("alt") or "").startswith("Scene")]
    assert len(scenes) == 3 and html.count("sampled frame at") == 3
    for number, start in ((1, "00:00"), (2, "00:03"), (3, "00:06")):
        assert f"Scene {number} · <time>{start}</time>" in html


def test_pdf_pages(sqlite_pipeline: Pipeline) -> None:
    pdf = write_text_pdf(
        sqlite_pipeline.inbox / "minutes.pdf",
        ["First page about the annual budget", "Second page about the new library"],
    )
    row = finished(sqlite_pipeline, media_path=str(pdf), media_type="document")
    assert row["status"] == "completed", row["error_message"]
    html = render_report(row, local_read)
    page = parse(html)
    text = text_of(html)
    assert "minutes.pdf" in text and "document" in text
    assert {"page-1", "page-2"} <= set(page.ids)
    first = html[html.index('id="page-1"') : html.index('id="page-2"')]
    assert "annual budget" in first and "new library" not in first
    assert "text analysis" in text.lower()
    assert "Scenes" not in text and "Transcript" not in text


def test_audio_file(sqlite_pipeline: Pipeline) -> None:
    audio = make_audio(sqlite_pipeline.inbox / "tone.m4a", duration=4.0)
    row = finished(sqlite_pipeline, media_path=str(audio), media_type="audio")
    assert row["status"] == "completed", row["error_message"]
    html = render_report(row, local_read)
    text = text_of(html)
    assert "tone.m4a" in text and "audio analysis" in text.lower()
    assert "No speech was heard" in text  # a tone has no words, and the report says so
    assert "Contact sheets" not in text and "<img" not in html


def test_failed_request(sqlite_pipeline: Pipeline) -> None:
    fake = sqlite_pipeline.inbox / "movie.mp4"
    fake.write_text("this is just a text file, not a movie\n" * 20)
    row = finished(sqlite_pipeline, media_path=str(fake), media_type="video")
    assert row["status"] == "failed"
    html = render_report(row, local_read)
    text = text_of(html)
    assert "Why it failed" in text and "fetch_media" in text
    assert row["error_message"].split(" ")[0] in text
    for hint in row["error_details"]["hints"]:
        assert hint.split(" ")[0] in text
    assert "Failed" in text and "Traceback" not in text
    assert html.index('id="failure"') < html.index('id="facts"') or "failure" in parse(html).ids
