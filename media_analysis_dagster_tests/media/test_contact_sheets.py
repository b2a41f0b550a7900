"""Contact sheets from real extracted frames: grid, counts, sizes, header, timestamps."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_analysis_dagster.media.contact_sheets import (
    GAP,
    SheetHeader,
    build_contact_sheets,
    format_timestamp,
    thumbnail_data_url,
)
from media_analysis_dagster.media.frames import ExtractedFrame, extract_frames
from media_analysis_dagster.media.probe import probe_video

from .video_fixtures import *  # noqa: F403


@pytest.fixture(scope="module")
def many_frames(sample_video: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    out = tmp_path_factory.mktemp("frames")
    return extract_frames(sample_video, out, count=18, max_side=320)


def _header(video: Path) -> SheetHeader:
    info = probe_video(video)
    return SheetHeader(
        video.name, info.duration, info.display_width, info.display_height, info.video_codec
    )


def test_format_timestamp() -> None:
    assert format_timestamp(0) == "00:00:00.000"
    assert format_timestamp(3723.4567) == "01:02:03.457"


@pytest.mark.parametrize(("n", "sheets", "last"), [(6, 1, 6), (7, 2, 1), (18, 3, 6)])
def test_sheet_counts(
    many_frames: list[ExtractedFrame],
    sample_video: Path,
    tmp_path: Path,
    n: int,
    sheets: int,
    last: int,
) -> None:
    frames = many_frames[:n]
    result = build_contact_sheets(frames, tmp_path, header=_header(sample_video), thumb_width=320)
    assert len(result) == sheets
    assert [s.sheet_number for s in result] == list(range(1, sheets + 1))
    assert all(s.total_sheets == sheets for s in result)
    assert all((s.grid_cols, s.grid_rows, s.frames_per_sheet) == (2, 3, 6) for s in result)
    assert result[-1].frame_count == last
    assert sum(s.frame_count for s in result) == n
    assert [i for s in result for i in s.frame_indexes] == [f.index for f in frames]
    for s in result:
        assert s.path.name == f"sheet_{s.sheet_number:02d}.jpg"
        assert s.generation_method == "custom"
        assert (s.thumbnail_width, s.thumbnail_height) == (320, 240)
        with Image.open(s.path) as img:
            assert img.size == (s.image_width, s.image_height)
        assert s.image_width == 2 * 320 + 3 * GAP
        assert s.image_height > 3 * 240
        assert s.frame_interval_seconds == pytest.approx(6.0 / 18)


def test_header_and_timestamps_are_drawn(sample_video: Path, tmp_path: Path) -> None:
    frames = extract_frames(sample_video, tmp_path / "f", count=6, max_side=320)
    sheet = build_contact_sheets(frames, tmp_path, header=_header(sample_video), thumb_width=320)[0]
    gray = np.asarray(Image.open(sheet.path).convert("L"), dtype=float)
    header_band = gray[: sheet.image_height - 3 * (240 + GAP) - GAP]
    assert header_band.std() > 10  # text, not a uniform band
    # the first tile is the testsrc2 segment; its bottom-right corner holds a dark label box
    # with white digits, so both extremes appear there
    x0, y0 = GAP + 320 - 120, sheet.image_height - 3 * (240 + GAP) + 240 - 30
    corner = gray[y0 : y0 + 25, x0 : x0 + 115]
    assert corner.min() < 40 and corner.max() > 200


def test_grid_options_and_interval(many_frames: list[ExtractedFrame], tmp_path: Path) -> None:
    header = SheetHeader("x.mp4", 6.0, 320, 240, "h264")
    sheets = build_contact_sheets(
        many_frames[:9], tmp_path, header=header, cols=3, rows=3, thumb_width=200, interval=2.5
    )
    assert len(sheets) == 1
    assert (sheets[0].grid_cols, sheets[0].grid_rows, sheets[0].frame_count) == (3, 3, 9)
    assert sheets[0].thumbnail_height == 150
    assert sheets[0].frame_interval_seconds == 2.5
    assert build_contact_sheets([], tmp_path, header=header) == []


def test_mixed_aspect_is_letterboxed(many_frames: list[ExtractedFrame], tmp_path: Path) -> None:
    tall = tmp_path / "tall.jpg"
    Image.new("RGB", (100, 300), (255, 255, 255)).save(tall)
    odd = ExtractedFrame(99, 1.0, 1.0, 25, True, tall, 100, 300)
    header = SheetHeader("x.mp4", 6.0, 320, 240, "h264")
    sheets = build_contact_sheets([many_frames[0], odd], tmp_path, header=header, thumb_width=320)
    assert sheets[0].frame_indexes == (0, 99)


def test_thumbnail_data_url(many_frames: list[ExtractedFrame]) -> None:
    url = thumbnail_data_url(many_frames[0].path, max_side=160)
    assert url.startswith("data:image/jpeg;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    assert len(data) < 10_000
    assert max(Image.open(io.BytesIO(data)).size) == 160


def _decode_url(url: str) -> tuple[bytes, tuple[int, int]]:
    assert url.startswith("data:image/jpeg;base64,")
    data = base64.b64decode(url.split(",", 1)[1])
    return data, Image.open(io.BytesIO(data)).size


@pytest.mark.parametrize("size", [(320, 240), (180, 320)])
def test_sheet_preview_is_legible_and_small(
    tmp_path: Path, size: tuple[int, int], sample_video: Path
) -> None:
    """The event-log preview of a default 2x3 sheet (640-pixel tiles): at least 480 pixels
    wide, longest side 640 unless the sheet is tall, and under 60 KB as a data URL."""
    import media_analysis_fixtures as sample

    video = (
        sample_video
        if size == (320, 240)
        else sample.make_video(tmp_path / "portrait.mp4", duration=3, size=size, audio=False)
    )
    frames = extract_frames(video, tmp_path / "f", count=6)
    sheet = build_contact_sheets(frames, tmp_path, header=_header(video))[0]
    assert sheet.image_width >= 480
    url = thumbnail_data_url(sheet.path)
    _, (w, h) = _decode_url(url)
    assert len(url) <= 60_000
    assert w >= 480
    assert max(w, h) == 640 or w == 480
    assert abs(w / h - sheet.image_width / sheet.image_height) < 0.01


def test_preview_quality_steps_down_to_fit(many_frames: list[ExtractedFrame]) -> None:
    roomy = thumbnail_data_url(many_frames[0].path, max_side=320, max_bytes=10**6)
    tight = thumbnail_data_url(many_frames[0].path, max_side=320, max_bytes=len(roomy) - 1)
    assert len(tight) < len(roomy)
    assert _decode_url(tight)[1] == _decode_url(roomy)[1] == (320, 240)
