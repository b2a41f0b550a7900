"""The HTML report of a completed video request in real Chromium, at desktop and phone widths.

The request is made by a real run of the job (a generated video with cuts and espeak-ng speech,
``report/runs.py``); its report is written from the rows as ``media-analysis report`` and
``complete_request`` do, and opened from a ``file://`` URL in Debian's Chromium through
Playwright (``browser.py``). What a person must get at 1280 px and at 375 px: the contact
sheet, one picture per scene and the transcript, all inside the viewport's width (nothing
scrolls sideways on a phone), and scene anchors that land on their scene.

Screenshots land in the pytest tmp dir and, when ``MEDIA_ANALYSIS_TEST_ARTIFACTS`` is set,
there too (CI keeps them).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import instance_for_test
from playwright.sync_api import Page

from media_analysis_dagster.report import write_report
from media_analysis_fixtures.speech import require_espeak

from ..ops.harness import Pipeline, make_pipeline
from ..report.runs import CUTS, add_scene_thumbnails, local_read, make_speech_video
from .browser import Screenshots, chromium, chromium_path, image_size

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
WIDTHS = (1280, 375)
LEGIBLE_SHEET_PX = 480
"""At desktop width a 2x3 sheet is drawn at least this wide, so its timestamps can be read."""
OVERFLOW_JS = """() => {
  const w = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && (r.right > w + 0.5 || r.left < -0.5))
    .map(([e, r]) => `${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  return {scroll: document.documentElement.scrollWidth, client: w, wide: wide.slice(0, 10)};
}"""


@pytest.fixture
def browser_path() -> str:
    path = chromium_path()
    if path is None:
        message = "no system Chromium (apt-get install chromium; .ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> Iterator[Pipeline]:
    with instance_for_test() as instance:
        yield make_pipeline(monkeypatch, tmp_path, sqlite_url, instance)


@pytest.fixture
def shots(tmp_path: Path) -> Screenshots:
    folders = [tmp_path / "report_screenshots"]
    artefacts = os.environ.get("MEDIA_ANALYSIS_TEST_ARTIFACTS")
    if artefacts:
        folders.append(Path(artefacts) / f"report_screenshots-{time.strftime('%Y%m%d-%H%M%S')}")
    return Screenshots(folders)


def completed_video_report(pipeline: Pipeline, out: Path) -> tuple[Path, dict[str, Any]]:
    require_espeak()
    video = make_speech_video(pipeline.inbox / "talk.mp4")
    result = pipeline.run(media_path=str(video), media_type="video", frame_count=6)
    row = pipeline.request_of(result)
    assert row is not None and row["status"] == "completed", row and row["error_message"]
    row = add_scene_thumbnails(pipeline.store, row, out / "thumbs")
    return write_report(row, local_read, out / "report.html"), row


def check_width(page: Page, width: int, shots: Screenshots) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_load_state("load")
    sheets = page.get_by_role("img", name="Contact sheet 1")
    scenes = page.locator("#scenes img")
    lines = page.locator("#transcript li")
    assert scenes.count() == len(CUTS) + 1 and lines.count() >= 2
    assert "fox" in lines.first.inner_text().lower()
    sheet = image_size(sheets)
    assert sheet.complete and sheet.natural_width > 0
    assert sheet.rendered_width <= width
    if width >= 1000:
        assert sheet.rendered_width >= LEGIBLE_SHEET_PX, sheet
    for i in range(scenes.count()):
        size = image_size(scenes.nth(i))
        assert size.complete and size.natural_width > 0, (i, size)
        assert 120 <= size.rendered_width <= width / 2, (i, size)
    page.evaluate("window.scrollTo(0, 0)")
    layout = page.evaluate(OVERFLOW_JS)
    assert layout["scroll"] <= width and not layout["wide"], layout
    shots.take(page, f"report-{width}px", full_page=True)


def test_report_at_desktop_and_phone_widths(
    pipeline: Pipeline, browser_path: str, shots: Screenshots, tmp_path: Path
) -> None:
    report, _ = completed_video_report(pipeline, tmp_path / "report")
    with (
        tempfile.TemporaryDirectory(prefix="ma-chromium-") as profile,
        chromium(Path(profile), browser_path) as context,
    ):
        page = context.new_page()
        page.goto(report.as_uri())
        for width in WIDTHS:
            check_width(page, width, shots)
        # a scene anchor opens the page at that scene (the phone width is still set)
        anchor = f"t={CUTS[1]:g}"
        page.goto(f"{report.as_uri()}#{anchor}")
        scene = page.locator(f'[id="{anchor}"]')
        box = scene.bounding_box()
        assert box is not None and -2 <= box["y"] < 900, box  # scrolled to it (subpixel)
        shots.take(page, f"report-375px-scene-{CUTS[1]:g}s")
    assert all(path.is_file() for path in shots.saved) and len(shots.saved) == 3
