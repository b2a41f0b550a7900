"""Step views: the Markdown a person reads on the run page, from real pictures and any
provider's transcript shape; hostile text prints as text."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.contracts import ArtifactRef, ContactSheets, SheetRef, VideoFrames
from media_analysis_dagster.media.probe import probe_video
from media_analysis_dagster.media.scene_strip import STRIP_MAX_BYTES, scene_thumbnails
from media_analysis_dagster.pipeline.views import (
    MAX_SHEETS_SHOWN,
    scene_strip_markdown,
    sheets_markdown,
    summary_markdown,
    transcript_markdown,
)
from media_analysis_dagster.providers.base import ProviderResult
from media_analysis_fixtures import cut_times, make_video

HOSTILE = "<script>alert(1)</script> [x](javascript:alert(2)) ![i](http://evil/x.png) \u202e"


def images_in(markdown: str) -> list[str]:
    return re.findall(r"!\[[^\]]*\]\((data:image/jpeg;base64,[^)]+)\)", markdown)


def unescaped(markdown: str) -> str:
    """The Markdown with every backslash-escaped character removed: what is left is syntax."""
    return re.sub(r"\\.", "", markdown)


def transcription(segments: list[dict], text: str = "") -> ProviderResult:
    return ProviderResult(
        "transcription", "internal", text, {"segments": segments}, 0.9, "faster-whisper/tiny.en"
    )


def test_transcript_first_lines_with_times() -> None:
    segments = [{"start": 1.0 + 7 * i, "end": 6.0 + 7 * i, "text": f"line {i}"} for i in range(12)]
    view = transcript_markdown(transcription(segments))
    assert "**Transcript**, 12 lines" in view
    assert "- `00:01` line 0" in view and "- `00:50` line 7" in view
    assert "line 8" not in view and view.endswith("- … 4 more lines")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (  # Deepgram utterances, as a results row
            {"utterances": [{"start": 65.2, "end": 67, "transcript": "hello", "speaker": 1}]},
            "- `01:05` 1: hello",
        ),
        (  # words only: grouped into lines at pauses
            {"words": [{"word": "one", "start": 0.1, "end": 0.4}, {"word": "two", "start": 3.0}]},
            "- `00:00` one\n- `00:03` two",
        ),
        ({"text": "no timings here"}, "(no timings)\n\nno timings here"),
        ({"segments": []}, "no speech was heard"),
    ],
)
def test_transcript_of_every_shape(data: dict, expected: str) -> None:
    row = {"result_type": "transcription", "content": data.get("text"), "content_json": data}
    assert expected in transcript_markdown(row)


def test_hostile_transcript_prints_as_text() -> None:
    view = transcript_markdown(transcription([{"start": 0, "end": 1, "text": HOSTILE * 1000}]))
    syntax = unescaped(view)
    assert "<" not in syntax and "](" not in syntax and "\u202e" not in view
    assert len(view) < 1000 and "…" in view


def test_summary_paragraphs_and_bullets() -> None:
    text = (
        "Findings for this video:\n- scene_detection (internal): 3 scene cut(s).\n"
        '- transcription (internal): "hello".\n\nOn "What happens?": three scenes.'
    )
    view = summary_markdown(text)
    assert view.startswith("**Summary**\n\nFindings for this video\\:")
    assert "\n- scene\\_detection \\(internal\\)\\: 3 scene cut\\(s\\)\\." in view
    assert view.rstrip().endswith("three scenes\\.")
    long = summary_markdown("word " * 2000)
    assert long.rstrip().endswith("…") and "wor…" not in long and len(long) < 3200
    assert "none was written" in summary_markdown("  ")
    assert "<" not in unescaped(summary_markdown(HOSTILE))


def test_scene_strip(tmp_path: Path) -> None:
    video = make_video(tmp_path / "cuts.mp4", duration=8.0, audio=False)
    starts = [0.0, *cut_times(8.0, 4)]
    thumbs = scene_thumbnails(video, starts, tmp_path / "thumbs")
    view = scene_strip_markdown(thumbs)
    [url] = images_in(view)
    assert view.startswith("**4 scenes**") and len(url) <= STRIP_MAX_BYTES
    assert "Starts: 1: 00:00 · 2: 00:02 · 3: 00:04 · 4: 00:06" in view
    strip = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert strip.width > 4 * 150  # four tiles side by side
    assert "(pictures of 2)" in scene_strip_markdown(thumbs[::2], scene_count=4)
    assert "no picture" in scene_strip_markdown([], scene_count=3)


def test_sheets_inline_and_bounded(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", duration=2.0, audio=False)
    refs = []
    for i in range(MAX_SHEETS_SHOWN + 2):
        path = tmp_path / f"sheet_{i + 1:02d}.jpg"
        Image.new("RGB", (1288, 1500), (40 * i, 90, 90)).save(path)
        refs.append(SheetRef(ArtifactRef("local", str(path), 1, None, "image/jpeg"), i + 1, ()))
    frames = VideoFrames("r", probe_video(video), "v.mp4", (), (), False)
    view = sheets_markdown(ContactSheets("r", frames, tuple(refs)))
    urls = images_in(view)
    assert len(urls) == MAX_SHEETS_SHOWN and all(len(u) <= 60_000 for u in urls)
    assert f"**Sheet 1/{len(refs)}**" in view and "2 more sheets in the report" in view
    assert "sheet\\_06\\.jpg" in view
