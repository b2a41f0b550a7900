"""Scene cuts, motion and faces on generated media.

There is no real face photo in the repository (nothing may be downloaded), so the positive face
test uses a drawn cartoon face, which the Haar cascade does find; it proves the detector is
wired up and the boxes are scaled back, not how well it does on real people.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter

import media_analysis_fixtures as sample
from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.frames import extract_frames
from media_analysis_dagster.media.video_analysis import (
    detect_faces,
    detect_scenes_and_motion,
    faces_available,
)

from .video_fixtures import *  # noqa: F403
from .video_fixtures import real_media

needs_faces = pytest.mark.skipif(
    not faces_available(),
    reason="this OpenCV has no Haar cascade (OpenCV 5 dropped it; pin opencv-python-headless<5)",
)


def test_cuts_at_known_times(sample_video: Path) -> None:
    result = detect_scenes_and_motion(sample_video)
    expected = sample.cut_times(6.0, 4)
    assert len(result.cut_times) == len(expected), result.cut_times
    for found, want in zip(result.cut_times, expected, strict=True):
        assert abs(found - want) <= 0.5
    assert len(result.scores) == len(result.cut_times)
    assert all(s >= 20 for s in result.scores)
    assert result.cut_kinds == ["cut"] * 3
    assert result.frames_analyzed > 10
    assert result.analysis_fps > 0
    assert result.method.startswith("pyav-")


def test_all_frames_and_seven_segments(tmp_path: Path) -> None:
    segments = ["testsrc2", "color=c=red", "smptebars", "mandelbrot", "testsrc", "color=c=blue"]
    video = sample.make_video(tmp_path / "six.mp4", duration=6, segments=segments, audio=False)
    result = detect_scenes_and_motion(video, skip_nonref=False)
    assert result.frames_analyzed == 150
    assert result.analysis_fps == pytest.approx(25.0)
    expected = sample.cut_times(6.0, 6)
    assert len(result.cut_times) == len(expected), result.cut_times
    for found, want in zip(result.cut_times, expected, strict=True):
        assert abs(found - want) <= 1 / 25 + 1e-6


@pytest.mark.parametrize("source", ["testsrc2", "mandelbrot"])
def test_moving_scene_is_not_cut(tmp_path: Path, source: str) -> None:
    moving = sample.make_video(tmp_path / "m.mp4", duration=3, segments=[source], audio=False)
    result = detect_scenes_and_motion(moving)
    assert result.cut_times == []
    assert result.mean_motion > 1.0
    assert 0 < len(result.motion_timeline) <= 200
    assert all(v >= 0 for _, v in result.motion_timeline)


def test_still_scene_has_no_motion(tmp_path: Path) -> None:
    still = sample.make_video(
        tmp_path / "s.mp4", duration=3, segments=["color=c=green"], audio=False
    )
    result = detect_scenes_and_motion(still)
    assert result.cut_times == []
    assert result.mean_motion < 0.2


def test_timeline_is_downsampled(tmp_path: Path) -> None:
    video = sample.make_video(
        tmp_path / "l.mp4", duration=10, size=(64, 48), fps=50, segments=["testsrc2"], audio=False
    )
    result = detect_scenes_and_motion(video, skip_nonref=False)
    assert result.frames_analyzed == 500
    assert len(result.motion_timeline) == 200
    times = [t for t, _ in result.motion_timeline]
    assert times == sorted(times)


def test_fade_through_black(tmp_path: Path) -> None:
    video = sample.make_video(
        tmp_path / "fade.mp4",
        duration=4,
        segments=["color=c=white", "color=c=white"],
        audio=False,
        vf="geq=lum='lum(X,Y)*min(1,abs(T-2)/0.8)':cb=128:cr=128",  # dark around 2 s
    )
    result = detect_scenes_and_motion(video)
    assert "fade" in result.cut_kinds
    fade = result.cut_times[result.cut_kinds.index("fade")]
    assert 1.5 <= fade <= 2.5


def test_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CorruptMediaError):
        detect_scenes_and_motion(path)


def test_pyscenedetect_fades() -> None:
    """PySceneDetect's ThresholdDetector finds scenes starting at frames 15, 198 and 377."""
    video = real_media("pyscenedetect", "testvideo.mp4")
    result = detect_scenes_and_motion(video)
    fades = [t for t, k in zip(result.cut_times, result.cut_kinds, strict=True) if k == "fade"]
    fps = 30000 / 1001
    assert len(fades) == 3
    for found, frame in zip(fades, [15, 198, 377], strict=True):
        assert abs(found * fps - frame) <= 2


def _drawn_face(size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), (90, 120, 160))
    draw = ImageDraw.Draw(image)

    def box(*xy: float) -> tuple[float, ...]:
        return tuple(v * size / 400 for v in xy)

    draw.ellipse(box(100, 60, 300, 340), fill=(225, 190, 160))
    draw.rectangle(box(110, 60, 290, 110), fill=(60, 40, 30))
    draw.ellipse(box(140, 150, 185, 180), fill=(40, 30, 30))
    draw.ellipse(box(215, 150, 260, 180), fill=(40, 30, 30))
    draw.rectangle(box(135, 130, 190, 140), fill=(70, 50, 40))
    draw.rectangle(box(210, 130, 265, 140), fill=(70, 50, 40))
    draw.polygon(box(200, 180, 185, 240, 215, 240), fill=(200, 160, 130))
    draw.ellipse(box(165, 265, 235, 290), fill=(150, 60, 60))
    return image.filter(ImageFilter.GaussianBlur(size / 130))


@needs_faces
def test_no_face_on_plain_colour_and_frames(sample_video: Path, tmp_path: Path) -> None:
    plain = tmp_path / "red.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(plain)
    frames = extract_frames(sample_video, tmp_path / "frames", count=4)
    result = detect_faces([plain, *(f.path for f in frames)])
    assert [r["faces"] for r in result] == [[]] * 5
    assert result[0]["path"] == str(plain) and result[0]["face_count"] == 0
    assert (result[0]["width"], result[0]["height"]) == (640, 480)


@needs_faces
def test_drawn_face_is_found_and_scaled_back(tmp_path: Path) -> None:
    path = tmp_path / "face.jpg"
    _drawn_face(1000).save(path)  # larger than max_side: boxes must be scaled back
    (entry,) = detect_faces([path])
    assert entry["face_count"] == 1
    face = entry["faces"][0]
    assert set(face) == {"x", "y", "w", "h"}
    assert 80 < face["x"] < 350 and 400 < face["w"] < 850  # head drawn at x=250, w=500


@needs_faces
def test_unreadable_image_does_not_fail_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    good = tmp_path / "ok.jpg"
    Image.new("RGB", (100, 100)).save(good)
    result = detect_faces([bad, good])
    assert result[0]["error"] and result[0]["faces"] == []
    assert "error" not in result[1]
