"""Low-information frames near a readable one: a watermark or a caption on black, a flat colour,
a heavy blur, plain black. The readable frame is written instead, in the default mode and with
scenes (``scene_aware``), whatever the keyframes (one for the whole clip, one on the bad frame,
one before or after the target), and the frame stays within the allowed distance: a quarter
interval of its target in the default mode, its scene with scenes. Without a readable frame in
reach, the least bad one is kept and the reason says so. A repeat of the previous tile is
readable and costs no search.

Each clip is scripted frame by frame (`quality_clips`): a readable frame draws its own number,
so every JPEG is traced back to the frame it shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.frame_quality import picture_defect
from media_analysis_dagster.media.frames import ExtractedFrame, extract_frames
from media_analysis_fixtures import read_counter, run_ffmpeg

from .quality_clips import Kind, Screen, make_clip, make_clip_of, screen

FPS = 25
BAD: list[Kind] = ["watermark", "lifted", "caption", "flat", "blurred", "black"]
DEFECT = {"watermark": "dark", "lifted": "dark", "caption": "dark", "black": "dark"}
# one keyframe (decode forward), a keyframe on the bad frame at the target, one just before
# the target among bad frames, and one after the target (the keyframe before is too far)
GOPS = [250, 25, 10, 30]


def _script(length: int, bad: Kind, stretches: list[range]) -> list[Kind]:
    script: list[Kind] = ["content"] * length
    for stretch in stretches:
        for n in stretch:
            script[n] = bad
    return script


def _readable(frame: ExtractedFrame, script: list[Kind]) -> None:
    """The JPEG is a readable frame, the one at its recorded time."""
    assert script[frame.frame_number] == "content"
    assert frame.pts_time == pytest.approx(frame.frame_number / FPS)
    image = Image.open(frame.path)
    assert picture_defect(image) is None
    assert read_counter(image) == frame.frame_number


@pytest.mark.parametrize("gop", GOPS)
@pytest.mark.parametrize("bad", BAD)
def test_default_mode_writes_the_readable_frame_near_a_bad_one(
    tmp_path: Path, bad: Kind, gop: int
) -> None:
    """Targets at frames 25 and 75 (quarter interval: 12.5 frames); frames 20-32 and 70-82
    are bad, the rest readable."""
    script = _script(100, bad, [range(20, 33), range(70, 83)])
    video = make_clip(tmp_path / "v.mp4", script, gop=gop)
    frames = extract_frames(video, tmp_path / "out", count=2)
    assert len(frames) == 2
    for f in frames:
        sel = f.selection
        assert sel is not None
        assert sel.nearest.defect == DEFECT.get(bad, bad)
        assert sel.reason == f"not_{DEFECT.get(bad, bad)}"
        assert sel.chosen.defect is None
        assert abs(f.pts_time - f.target_time) <= 0.5 + 1e-9
        _readable(f, script)


@pytest.mark.parametrize("gop", GOPS)
@pytest.mark.parametrize("container", ["ts", "mkv"])
@pytest.mark.parametrize("bad", ["lifted", "blurred"])
def test_other_containers(tmp_path: Path, bad: Kind, container: str, gop: int) -> None:
    """MPEG-TS (no seek index; its seeks land late, by seconds) and Matroska (an index of
    cues): the same readable frames are reached."""
    script = _script(100, bad, [range(20, 33), range(70, 83)])
    mp4 = make_clip(tmp_path / "v.mp4", script, gop=gop)
    video = tmp_path / f"v.{container}"
    run_ffmpeg(["-i", str(mp4), "-c", "copy", str(video)])
    frames = extract_frames(video, tmp_path / "out", count=2)
    assert len(frames) == 2
    for f in frames:
        assert f.selection is not None and f.selection.reason == f"not_{DEFECT.get(bad, bad)}"
        assert abs(f.pts_time - f.target_time) <= 0.5 + 1e-9
        _readable(f, script)


@pytest.mark.parametrize("gop", GOPS)
@pytest.mark.parametrize("bad", BAD)
def test_scene_aware_writes_a_readable_frame_of_the_scene(
    tmp_path: Path, bad: Kind, gop: int
) -> None:
    """Scenes start at 2 s and 4 s, one frame each; in the middle scene only its first and
    last 0.4 s are readable, beyond a quarter interval of the target (3 s). Evenly spaced, that
    target keeps the least bad frame near it and says so; by scene, a readable frame of the
    scene is written."""
    script = _script(150, bad, [range(60, 91)])
    video = make_clip(tmp_path / "v.mp4", script, gop=gop)
    even = extract_frames(video, tmp_path / "even", count=3)
    assert [f.selection.reason for f in even if f.selection][1] == "best_available"
    assert even[1].selection is not None and even[1].selection.chosen.defect is not None
    assert abs(even[1].pts_time - 3.0) <= 2.0 / 4 + 1e-9
    frames = extract_frames(video, tmp_path / "scenes", count=3, scenes=[2.0, 4.0])
    assert len(frames) == 3
    for f, (start, end) in zip(frames, [(0, 2), (2, 4), (4, 6)], strict=True):
        assert start <= f.pts_time < end
        _readable(f, script)
    middle = frames[1].selection
    assert middle is not None and middle.reason == f"not_{DEFECT.get(bad, bad)}"


def test_scene_without_a_readable_frame_keeps_its_tile(tmp_path: Path) -> None:
    """A scene that is a watermark on black throughout still gets its frame, inside it."""
    script = _script(150, "watermark", [range(50, 100)])
    video = make_clip(tmp_path / "v.mp4", script, gop=25)
    frames = extract_frames(video, tmp_path / "out", count=3, scenes=[2.0, 4.0])
    assert len(frames) == 3
    sel = frames[1].selection
    assert sel is not None and sel.reason == "best_available" and sel.chosen.dark
    assert 2.0 <= frames[1].pts_time < 4.0
    _readable(frames[0], script)
    _readable(frames[2], script)


@pytest.mark.parametrize("bad", ["lifted", "flat", "blurred"])
def test_readable_frame_beyond_the_window_is_not_taken(tmp_path: Path, bad: Kind) -> None:
    """Readable frames only outside the quarter-interval window: the tile stays in the window
    with the least bad frame, and says so."""
    script = _script(100, bad, [range(10, 41)])
    video = make_clip(tmp_path / "v.mp4", script, gop=10)
    first = extract_frames(video, tmp_path / "out", count=2)[0]
    assert abs(first.pts_time - first.target_time) <= 0.5 + 1e-9
    assert first.selection is not None and first.selection.reason == "best_available"
    assert picture_defect(Image.open(first.path)) == DEFECT.get(bad, bad)


def test_duplicate_is_kept_without_more_decoding(tmp_path: Path) -> None:
    """A still scene: every frame repeats the previous tile. The usual frame stays (it is
    readable), nothing more is decoded for it."""
    from .quality_clips import content

    pictures = [content(5)] * 100
    video = make_clip_of(tmp_path / "v.mp4", pictures, gop=5)
    first, second = extract_frames(video, tmp_path / "out", count=2)
    assert first.selection is not None and first.selection.reason == "nearest"
    sel = second.selection
    assert sel is not None and sel.reason == "nearest" and sel.nearest.duplicate
    assert sel.candidates == 1 and second.keyframe
    assert abs(second.pts_time - second.target_time) <= 0.5 + 1e-9


@pytest.mark.parametrize(
    ("kind", "defect"),
    [
        ("slide", None),
        ("dark_text", None),
        ("credits", None),
        ("title", "dark"),
        ("logo", "flat"),
        ("blurred_slide", "blurred"),
    ],
)
def test_text_over_the_whole_screen_is_readable(kind: Screen, defect: str | None) -> None:
    """Mostly one colour is not low information when text covers the screen (a slide, a
    dark-theme editor, credits); a title word or a logo on a plain background is."""
    assert picture_defect(screen(kind)) == defect


def test_readable_screen_recording_costs_no_search(tmp_path: Path) -> None:
    """A dark-theme screen is kept as it is, without a frame more decoded."""
    pictures = [screen("dark_text", (640, 360))] * 50
    video = make_clip_of(tmp_path / "v.mp4", pictures, gop=5)
    frames = extract_frames(video, tmp_path / "out", count=2)
    first = frames[0].selection
    assert first is not None and (first.reason, first.candidates) == ("nearest", 1)
