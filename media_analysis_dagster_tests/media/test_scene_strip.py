"""One thumbnail per scene on generated video with known cuts, and the strip of them."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_analysis_dagster.media.scene_strip import (
    DARK_LUMA,
    MAX_STRIP_TILES,
    MAX_WIDTH,
    MIN_WIDTH,
    STRIP_MAX_BYTES,
    build_strip,
    pick_evenly,
    scene_thumbnails,
    strip_data_url,
)
from media_analysis_fixtures import cut_times, make_video, run_ffmpeg

SEGMENTS = ("testsrc2", "color=c=red", "smptebars", "color=c=blue")


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s, four scenes: cuts at 2, 4 and 6 s."""
    folder = tmp_path_factory.mktemp("strip")
    return make_video(folder / "cuts.mp4", duration=8.0, segments=SEGMENTS, audio=False)


def mean_rgb(path: Path) -> tuple[float, ...]:
    with Image.open(path) as img:
        return tuple(np.asarray(img.convert("RGB"), dtype=np.float64).mean(axis=(0, 1)))


def test_one_thumbnail_per_scene_inside_it(cut_video: Path, tmp_path: Path) -> None:
    starts = [0.0, *cut_times(8.0, 4)]
    thumbs = scene_thumbnails(cut_video, starts, tmp_path)
    assert [t.index for t in thumbs] == [0, 1, 2, 3]
    assert [t.time for t in thumbs] == starts
    ends = [*starts[1:], 8.0]
    for thumb, end in zip(thumbs, ends, strict=True):
        assert thumb.time <= thumb.pts_time < end  # at or just after the start, inside it
        assert (thumb.width, thumb.height) == (320, 240) == Image.open(thumb.path).size
        assert thumb.path.name == f"scene_{thumb.index + 1:04d}.jpg"
    red, blue = mean_rgb(thumbs[1].path), mean_rgb(thumbs[3].path)
    assert red[0] > 200 and red[1] < 40 and red[2] < 40
    assert blue[2] > 200 and blue[0] < 40 and blue[1] < 40


def test_count_and_size_are_bounded(cut_video: Path, tmp_path: Path) -> None:
    many = [i * 0.02 for i in range(400)]
    thumbs = scene_thumbnails(cut_video, many, tmp_path / "many", width=10_000, max_count=30)
    assert len(thumbs) == 30 and thumbs[0].index == 0 and thumbs[-1].index == 399
    assert all(t.width == 320 for t in thumbs)  # never enlarged
    wide = make_video(tmp_path / "wide.mp4", duration=1.0, size=(1280, 720), audio=False)
    [big] = scene_thumbnails(wide, [0.0], tmp_path / "wide", width=10_000)
    assert (big.width, big.height) == (MAX_WIDTH, 360)
    small = scene_thumbnails(cut_video, [0.0, float("nan"), 99.0], tmp_path / "small", width=1)
    assert [t.index for t in small] == [0, 2] and all(t.width == MIN_WIDTH for t in small)
    assert small[1].pts_time < 8.0  # a time past the end shows the last picture
    assert pick_evenly(5, 3) == [0, 2, 4] and pick_evenly(2, 10) == [0, 1]


def test_past_the_time_budget_only_keyframe_starts(tmp_path: Path) -> None:
    """With no time left, a scene gets a thumbnail only when it starts on a keyframe (here
    every 3 s: the scenes at 0 s and 6 s), so no GOP is decoded through."""
    video = make_video(tmp_path / "gop.mp4", duration=8.0, segments=SEGMENTS, gop=75, audio=False)
    starts = [0.0, *cut_times(8.0, 4)]
    thumbs = scene_thumbnails(video, starts, tmp_path / "t", max_seconds=0.0)
    assert [t.index for t in thumbs] == [0, 3]
    assert len(scene_thumbnails(video, starts, tmp_path / "all")) == 4


def test_rotated_video_is_upright(tmp_path: Path) -> None:
    video = make_video(tmp_path / "rot.mp4", duration=2.0, rotate=90, audio=False)
    [thumb] = scene_thumbnails(video, [0.0], tmp_path / "t", width=200)
    assert thumb.width == 200 and thumb.height > thumb.width  # 240x320 as displayed


def test_a_dark_start_is_passed_over(tmp_path: Path) -> None:
    """Scene 2 fades in from black over 5 s: its first try is dark, the middle is not."""
    video = tmp_path / "fade.mp4"
    run_ffmpeg(
        [
            *("-f", "lavfi", "-i", "color=c=red:s=320x240:r=25:d=2"),
            *("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4"),
            *("-filter_complex", "[1:v]fade=t=in:st=0:d=5[b];[0:v][b]concat=n=2:v=1[v]"),
            *("-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"),
            str(video),
        ]
    )
    thumbs = scene_thumbnails(video, [0.0, 2.0], tmp_path / "t")
    assert thumbs[1].pts_time == pytest.approx(4.0, abs=0.1)  # the middle of 2..6 s
    with Image.open(thumbs[1].path) as img:
        assert np.asarray(img.convert("L")).mean() > DARK_LUMA * 1.5


def test_strip_fits_the_event_log(tmp_path: Path) -> None:
    """Even incompressible pictures make a strip within STRIP_MAX_BYTES."""
    rng = np.random.default_rng(7)
    paths = []
    for i in range(MAX_STRIP_TILES + 6):
        path = tmp_path / f"noise_{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    strip = build_strip(paths, [f"{i}" for i in range(len(paths))])
    assert strip.width == 6 * 160 + 7 * 4 and strip.height > 4 * 120  # 24 tiles, 4 rows
    from media_analysis_dagster.media.scene_strip import SceneThumbnail

    thumbs = [SceneThumbnail(i, i, i, p, 320, 240) for i, p in enumerate(paths[:24])]
    url = strip_data_url(thumbs, ["00:00"] * 24)
    assert url.startswith("data:image/jpeg;base64,") and len(url) <= STRIP_MAX_BYTES
    picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert picture.width >= 400  # shrunk if it had to be, still a strip a person can read
