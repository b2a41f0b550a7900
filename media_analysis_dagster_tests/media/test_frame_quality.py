"""Frames worth looking at: default mode avoids black, blurred and repeated pictures within its
window and says why; accurate mode keeps the exact frame; scene-aware targets cover every scene.
(`test_frame_choice` covers watermarks, captions and flat colour, in both modes.)

Every video is scripted frame by frame (`make_pattern_video`), so each JPEG can be read back and
compared with what the frame at its recorded presentation time shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.frames import (
    ExtractedFrame,
    extract_frames,
    frame_targets,
    scene_targets,
)
from media_analysis_fixtures import read_counter
from media_analysis_fixtures.counter_video import make_pattern_video

FPS = 25


def _shows(frame: ExtractedFrame, values: list[int | None]) -> None:
    """The JPEG is the frame at its recorded time, and that time is within the window."""
    expected = values[frame.frame_number]
    assert frame.pts_time == pytest.approx(frame.frame_number / FPS)
    if expected is None:
        assert frame.selection is not None and frame.selection.chosen.dark
    else:
        assert read_counter(Image.open(frame.path)) == expected


def test_black_keyframe_is_replaced_by_a_later_frame(tmp_path: Path) -> None:
    """A keyframe within a quarter interval is black (a fade in after a cut): the frames right
    after it are decoded and the sharpest non-black one within the window is kept."""
    values: list[int | None] = list(range(100))
    for n in (*range(25, 30), *range(75, 80)):
        values[n] = None
    video = make_pattern_video(tmp_path / "v.mp4", values, gop=25)
    frames = extract_frames(video, tmp_path / "out", count=2)  # targets: frames 25 and 75
    for f in frames:
        sel = f.selection
        assert sel is not None
        assert sel.reason == "not_dark"
        assert sel.nearest.dark and sel.nearest.time == pytest.approx(f.target_time)
        assert sel.chosen.defect is None
        assert f.target_time < f.pts_time <= f.target_time + 0.5 + 1e-9  # quarter interval
        _shows(f, values)


def test_acceptable_keyframe_is_kept_without_extra_decoding(tmp_path: Path) -> None:
    video = make_pattern_video(tmp_path / "v.mp4", list(range(100)), gop=25)
    frames = extract_frames(video, tmp_path / "out", count=2)
    for f in frames:
        assert f.keyframe and f.selection is not None
        assert (f.selection.reason, f.selection.candidates) == ("nearest", 1)
        assert f.selection.chosen == f.selection.nearest


def test_black_frame_at_target_decoding_forward(tmp_path: Path) -> None:
    """One keyframe: the frames decoded on the way to the target are the candidates."""
    values: list[int | None] = list(range(100))
    for n in range(20, 27):
        values[n] = None
    video = make_pattern_video(tmp_path / "v.mp4", values)
    f = extract_frames(video, tmp_path / "out", count=2)[0]
    assert f.selection is not None and f.selection.reason == "not_dark"
    assert f.selection.candidates > 1
    assert 0.5 - 1e-9 <= f.pts_time < 20 / FPS
    _shows(f, values)


def test_blurred_pick_gives_way_to_a_sharp_frame_in_window(tmp_path: Path) -> None:
    """Every frame heavily blurred but 17 and 18: the first target's pick (frame 25) is
    replaced by one of them; the second has no sharp frame in its window, so the least
    blurred one there is kept and the reason says so."""
    values: list[int | None] = list(range(100))
    blurred = set(range(100)) - {17, 18}
    video = make_pattern_video(tmp_path / "v.mp4", values, blur=blurred)
    frames = extract_frames(video, tmp_path / "out", count=2)
    first = frames[0]
    assert first.selection is not None and first.selection.reason == "not_blurred"
    assert first.selection.nearest.defect == "blurred"
    assert first.frame_number in (17, 18)
    assert first.selection.chosen.sharpness >= 1.25 * first.selection.nearest.sharpness
    _shows(first, values)
    second = frames[1]
    assert second.selection is not None and second.selection.reason == "best_available"
    assert second.selection.chosen.defect == "blurred"
    assert abs(second.pts_time - second.target_time) <= 0.5 + 1e-9
    _shows(second, values)


def test_sharper_clean_frame_in_window_is_preferred(tmp_path: Path) -> None:
    """The usual pick is readable but soft; a frame decoded on the way to it is much sharper
    (both clean): the sharper one is written, and says so."""
    from PIL import ImageFilter

    from .quality_clips import content, make_clip_of

    soft = {n: content(n).filter(ImageFilter.GaussianBlur(0.7)) for n in range(100)}
    pictures = [soft[n] if n not in (17, 18) else content(n) for n in range(100)]
    video = make_clip_of(tmp_path / "v.mp4", pictures)
    first = extract_frames(video, tmp_path / "out", count=2)[0]
    sel = first.selection
    assert sel is not None and sel.nearest.defect is None
    assert sel.reason == "sharper" and first.frame_number in (17, 18)
    assert sel.chosen.sharpness >= 1.25 * sel.nearest.sharpness


def test_repeat_of_previous_pick_is_avoided(tmp_path: Path) -> None:
    values: list[int | None] = [5] * 100
    values[66:71] = [10] * 5
    video = make_pattern_video(tmp_path / "v.mp4", values)
    first, second = extract_frames(video, tmp_path / "out", count=2)
    assert first.selection is not None and first.selection.reason == "nearest"
    assert first.selection.chosen.difference is None
    assert second.selection is not None and second.selection.reason == "not_duplicate"
    assert second.selection.nearest.duplicate and not second.selection.chosen.duplicate
    assert 66 <= second.frame_number <= 70
    _shows(second, values)


def test_repeated_keyframe_is_kept_without_more_decoding(tmp_path: Path) -> None:
    """A still scene at a keyframe: a copy of the previous tile is readable, and searching a
    still scene for a different picture is spent in vain, so nothing more is decoded."""
    values: list[int | None] = [*[5] * 160, *[10] * 40]
    video = make_pattern_video(tmp_path / "v.mp4", values, gop=20)
    first, second = extract_frames(video, tmp_path / "out", count=2)  # targets 50, 150
    assert (first.frame_number, first.keyframe) == (40, True)
    assert second.selection is not None and second.selection.reason == "nearest"
    assert second.selection.nearest.duplicate and second.selection.candidates == 1
    assert (second.frame_number, second.keyframe) == (140, True)
    _shows(second, values)


def test_black_throughout_still_gives_every_frame_with_its_reason(tmp_path: Path) -> None:
    """Nothing better anywhere: every requested frame is written, the least bad one seen,
    and the reason says no better frame was near."""
    video = make_pattern_video(tmp_path / "v.mp4", [None] * 50, gop=10)
    frames = extract_frames(video, tmp_path / "out", count=3)
    assert len(frames) == 3
    assert [f.selection.reason for f in frames if f.selection] == ["best_available"] * 3
    assert all(f.selection and f.selection.chosen.dark for f in frames)
    for f in frames:
        assert abs(f.pts_time - f.target_time) <= 2.0 / 3 / 4 + 1e-9


def test_search_backs_off_in_a_video_dark_throughout(tmp_path: Path) -> None:
    """Two fruitless searches in two frames: the later ones try one keyframe only, so a dark
    video costs about what the plain default mode costs."""
    video = make_pattern_video(tmp_path / "v.mp4", [None] * 400, gop=25)
    frames = extract_frames(video, tmp_path / "out", count=8)
    assert len(frames) == 8
    assert all(f.selection and f.selection.reason == "best_available" for f in frames)
    assert all(f.selection and f.selection.candidates > 2 for f in frames[:2])
    assert all(f.selection and f.selection.candidates <= 2 for f in frames[2:])


def test_accurate_mode_keeps_the_exact_frame(tmp_path: Path) -> None:
    values: list[int | None] = list(range(100))
    values[25] = None
    video = make_pattern_video(tmp_path / "v.mp4", values, gop=25, blur={75})
    frames = extract_frames(video, tmp_path / "out", count=2, accurate=True)
    assert [f.frame_number for f in frames] == [25, 75]
    assert all(f.selection and f.selection.reason == "exact" for f in frames)
    assert frames[0].selection is not None and frames[0].selection.chosen.dark


def test_selection_round_trips_through_a_dict(tmp_path: Path) -> None:
    video = make_pattern_video(tmp_path / "v.mp4", list(range(50)))
    frame = extract_frames(video, tmp_path / "out", count=1)[0]
    data = frame.to_dict()
    assert isinstance(data["path"], str) and data["selection"]["reason"] == "nearest"
    assert ExtractedFrame.from_dict(data) == frame


def test_scene_targets() -> None:
    assert scene_targets([], 6.0, 6) == frame_targets(6.0, 6)
    # one tile in the middle of each scene when there are as many scenes as tiles
    assert scene_targets([2.0, 3.0], 6.0, 3) == pytest.approx([1.0, 2.5, 4.5])
    # spare tiles go to the longest scenes; the 0.2 s scene still gets one
    targets = scene_targets([5.8], 6.0, 6)
    assert targets[-1] == pytest.approx(5.9)
    assert targets[:5] == pytest.approx([(i + 0.5) * 5.8 / 5 for i in range(5)])
    # unsorted, duplicated, out-of-range and zero starts are tolerated
    assert scene_targets([3.0, 0.0, 3.0, -1.0, 9.0, float("nan")], 6.0, 2) == [1.5, 4.5]
    # more scenes than tiles: evenly spaced
    assert scene_targets([1.0, 2.0, 3.0], 6.0, 2) == frame_targets(6.0, 2)


@pytest.mark.parametrize("accurate", [False, True])
def test_scene_aware_extraction_covers_a_short_scene(tmp_path: Path, accurate: bool) -> None:
    """Evenly spaced targets miss the 0.4 s last scene; scene-aware ones put a frame in it."""
    values: list[int | None] = [*[3] * 140, *[12] * 10]
    video = make_pattern_video(tmp_path / "v.mp4", values)
    even = extract_frames(video, tmp_path / "even", count=6, accurate=accurate)
    assert all(read_counter(Image.open(f.path)) == 3 for f in even)
    frames = extract_frames(video, tmp_path / "scenes", count=6, scenes=[5.6], accurate=accurate)
    assert len(frames) == 6
    assert [read_counter(Image.open(f.path)) for f in frames] == [3] * 5 + [12]
    assert 5.6 <= frames[-1].pts_time < 6.0
    for f in frames:
        _shows(f, values)


@pytest.mark.parametrize("accurate", [False, True])
def test_progress_is_heard_after_each_frame_is_written(tmp_path: Path, accurate: bool) -> None:
    """``on_progress(frames written, frames planned)``: once per frame, each file there."""
    video = make_pattern_video(tmp_path / "v.mp4", list(range(100)), gop=25)
    heard: list[tuple[float, float]] = []

    def progress(done: float, planned: float) -> None:
        heard.append((done, planned))
        assert (tmp_path / "out" / f"frame_{int(done):04d}.jpg").stat().st_size > 0

    frames = extract_frames(
        video, tmp_path / "out", count=4, accurate=accurate, on_progress=progress
    )
    assert heard == [(1.0, 4.0), (2.0, 4.0), (3.0, 4.0), (4.0, 4.0)]
    assert [f.index for f in frames] == [0, 1, 2, 3]
