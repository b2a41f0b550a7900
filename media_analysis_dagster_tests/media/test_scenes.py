"""Scene transitions and motion on generated videos with known cuts, and on PySceneDetect's
own test clip (its published expectations).

Every generated video is checked against the frames ``make_video`` puts its cuts on, and the
fast path against a full decode of the same file: the keyframe pass may skip work, never
transitions.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import media_analysis_fixtures as sample
from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.scenes import (
    DEFAULT_THRESHOLD,
    LONG_GOP_SECONDS,
    SceneMotionResult,
    detect_scenes_and_motion,
)
from media_analysis_fixtures.real_media import real_media

from .video_fixtures import *  # noqa: F403

FPS = 25
#: make_video puts a segment's first frame at the first frame at or after its nominal time.
FRAME = 1 / FPS


def first_frames(duration: float, segments: int) -> list[float]:
    """Times of the first frame of each new segment of a ``make_video`` video at ``FPS``."""
    return [-(-round(t * FPS * 1000) // 1000) / FPS for t in sample.cut_times(duration, segments)]


def cuts_of(result) -> list[float]:  # type: ignore[no-untyped-def]
    return [t for t, k in zip(result.cut_times, result.cut_kinds, strict=True) if k == "cut"]


def test_cuts_on_their_exact_frames(sample_video: Path) -> None:
    result = detect_scenes_and_motion(sample_video)
    assert result.cut_times == pytest.approx(first_frames(6.0, 4), abs=1e-3)
    assert result.cut_kinds == ("cut",) * 3
    assert len(result.scores) == 3 and all(s >= 20 for s in result.scores)
    assert result.method == "pyav-keyframes-64x36"
    assert 0 < result.frames_analyzed <= result.frames_decoded
    assert result.analysis_fps > 0


def test_full_decode_reference(tmp_path: Path) -> None:
    segments = ["testsrc2", "color=c=red", "smptebars", "mandelbrot", "testsrc", "color=c=blue"]
    video = sample.make_video(tmp_path / "six.mp4", duration=6, segments=segments, audio=False)
    full = detect_scenes_and_motion(video, full_decode=True)
    assert full.method == "pyav-full-64x36"
    assert full.frames_decoded == full.frames_analyzed == 150
    assert full.analysis_fps == pytest.approx(25.0, rel=0.01)
    assert full.cut_times == pytest.approx(first_frames(6.0, 6), abs=1e-3)
    fast = detect_scenes_and_motion(video)
    assert fast.cut_times == full.cut_times and fast.cut_kinds == full.cut_kinds


def test_keyframe_pass_skips_quiet_intervals(tmp_path: Path) -> None:
    """x264 defaults at 30 fps (keyframes at cuts and every 250 frames): of 60 s in three 20 s
    scenes, only the intervals that end at a cut and the last one are decoded."""
    segments = ["testsrc2", "smptebars", "testsrc"]
    video = sample.make_video(
        tmp_path / "long.mp4",
        duration=60,
        size=(320, 180),
        fps=30,
        segments=segments,
        audio=False,
    )
    result = detect_scenes_and_motion(video)
    assert result.cut_times == pytest.approx([20.0, 40.0], abs=1e-3)
    assert result.gops_decoded <= result.gops // 2
    assert result.frames_decoded < 0.3 * 60 * 30
    assert result.mean_motion > 0 and len(result.motion_timeline) == 200


@pytest.mark.parametrize("gop", [250, 350])
def test_fixed_gop_without_keyframes_at_cuts(tmp_path: Path, gop: int) -> None:
    """``sc_threshold 0``: cuts fall inside keyframe intervals. 10 s intervals are searched
    and the cuts put on their exact frames; 14 s ones exceed LONG_GOP_SECONDS and take the
    full-decode fallback, where a cut may land a frame or two late."""
    segments = ["testsrc2", "smptebars", "mandelbrot", "testsrc", "color=c=navy", "rgbtestsrc"]
    video = sample.make_video(
        tmp_path / "gop.mp4", duration=30, size=(320, 180), segments=segments, audio=False, gop=gop
    )
    result = detect_scenes_and_motion(video)
    expected = first_frames(30, 6)
    assert len(result.cut_times) == len(expected), result.cut_times
    slack = 1e-3 if gop / FPS <= LONG_GOP_SECONDS else 2 * FRAME + 1e-3
    for found, want in zip(result.cut_times, expected, strict=True):
        assert want - 1e-3 <= found <= want + slack
    assert result.cut_kinds == ("cut",) * 5


def test_insert_shot_inside_one_interval(tmp_path: Path) -> None:
    """A cut away and back (grey, a fractal for 1 s, grey) inside one 4 s fixed interval whose
    keyframes look alike: the packet-size spike sends it to the fine pass."""
    segments = ["color=c=gray"] * 5 + ["mandelbrot"] + ["color=c=gray"] * 6
    video = sample.make_video(
        tmp_path / "aba.mp4", duration=12, size=(320, 180), segments=segments, audio=False, gop=100
    )
    result = detect_scenes_and_motion(video)
    assert result.cut_times == pytest.approx([5.0, 6.0], abs=1e-3)


def test_all_intra_stream(tmp_path: Path) -> None:
    """Every frame a keyframe: the keyframe pass alone compares neighbouring frames."""
    segments = ["testsrc2", "smptebars", "testsrc"]
    video = sample.make_video(
        tmp_path / "intra.mp4", duration=3, size=(320, 180), segments=segments, audio=False, gop=1
    )
    result = detect_scenes_and_motion(video)
    assert result.cut_times == pytest.approx(first_frames(3, 3), abs=1e-3)


@pytest.mark.parametrize("source", ["testsrc2", "mandelbrot"])
def test_moving_scene_is_not_cut(tmp_path: Path, source: str) -> None:
    moving = sample.make_video(tmp_path / "m.mp4", duration=3, segments=[source], audio=False)
    result = detect_scenes_and_motion(moving)
    assert result.cut_times == ()
    assert result.mean_motion > 0.5
    assert 0 < len(result.motion_timeline) <= 200
    assert all(v >= 0 for _, v in result.motion_timeline)


def test_still_scene_has_no_motion(tmp_path: Path) -> None:
    still = sample.make_video(
        tmp_path / "s.mp4", duration=3, segments=["color=c=green"], audio=False
    )
    result = detect_scenes_and_motion(still)
    assert result.cut_times == ()
    assert result.mean_motion < 0.2


def test_timeline_is_bounded(tmp_path: Path) -> None:
    video = sample.make_video(
        tmp_path / "l.mp4", duration=10, size=(64, 48), fps=50, segments=["testsrc2"], audio=False
    )
    result = detect_scenes_and_motion(video, full_decode=True)
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
    assert result.cut_kinds == ("fade",)
    assert result.cut_times[0] == pytest.approx(2.0, abs=0.1)


def test_fade_between_keyframes_of_a_long_video(tmp_path: Path) -> None:
    """A 1.6 s fade through black at 12 s between two scenes in 10 s keyframe intervals."""
    video = sample.make_video(
        tmp_path / "fade_long.mp4",
        duration=24,
        size=(320, 180),
        segments=["testsrc2", "smptebars"],
        audio=False,
        vf="fade=t=out:st=11.2:d=0.8:enable='lt(t,12)',fade=t=in:st=12:d=0.8:enable='gte(t,12)'",
    )
    result = detect_scenes_and_motion(video)
    assert result.cut_kinds == ("fade",), list(zip(result.cut_times, result.cut_kinds, strict=True))
    assert result.cut_times[0] == pytest.approx(12.0, abs=0.1)


def test_cross_dissolve(tmp_path: Path) -> None:
    """A 1 s cross-dissolve (ffmpeg ``xfade``) between two still cards, middle at 3.5 s."""
    path = tmp_path / "dissolve.mp4"
    graph = (
        "smptebars=s=320x180:r=25:d=4,format=yuv420p,settb=1/25[a];"
        "rgbtestsrc=s=320x180:r=25:d=4,format=yuv420p,settb=1/25[b];"
        "[a][b]xfade=transition=fade:duration=1:offset=3[v]"
    )
    sample.run_ffmpeg(
        ["-filter_complex", graph, "-map", "[v]", "-c:v", "libx264", "-preset", "veryfast", path]
    )
    result = detect_scenes_and_motion(path)
    assert result.cut_kinds == ("dissolve",), list(
        zip(result.cut_times, result.cut_kinds, strict=True)
    )
    assert result.cut_times[0] == pytest.approx(3.5, abs=0.25)


def test_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(CorruptMediaError):
        detect_scenes_and_motion(path)


def test_pyscenedetect_testvideo() -> None:
    """PySceneDetect's ThresholdDetector finds scenes starting at frames 15, 198 and 377 of its
    test clip (fades through black). Our fades land there too; the clip also has a hard cut
    from black at frame 30, to black at frame 180, and a cross-dissolve around 18.1 s (looked
    at frame by frame), and the fast path finds what a full decode finds."""
    video = real_media("pyscenedetect", "testvideo.mp4")
    fps = 30000 / 1001
    result = detect_scenes_and_motion(video)
    found = list(zip(result.cut_times, result.cut_kinds, strict=True))
    fades = [t for t, k in found if k == "fade"]
    assert len(fades) == 3
    for t, frame in zip(fades, [15, 198, 377], strict=True):
        assert abs(t * fps - frame) <= 2
    assert [round(t * fps) for t in cuts_of(result)] == [30, 180]
    assert [k for _, k in found if k == "dissolve"] == ["dissolve"]
    assert 17.6 <= next(t for t, k in found if k == "dissolve") <= 18.6
    full = detect_scenes_and_motion(video, full_decode=True)
    assert tuple(k for _, k in found) == full.cut_kinds
    for (t, kind), t_full in zip(found, full.cut_times, strict=True):
        # A dissolve is reported at the middle of its best window, which depends on which
        # frames were decoded around it; cuts and fades must agree to 2 frames.
        assert t == pytest.approx(t_full, abs=0.25 if kind == "dissolve" else 2 / fps)


@pytest.mark.parametrize("threshold", [0, -1.0, 255.5, float("nan"), float("inf"), True, "20"])
def test_threshold_outside_0_to_255_is_refused(sample_video: Path, threshold: object) -> None:
    with pytest.raises(ValueError, match=r"^The scene threshold must be a number above 0 and"):
        detect_scenes_and_motion(sample_video, threshold=threshold)  # type: ignore[arg-type]


def test_default_threshold_is_the_one_constant() -> None:
    import inspect

    default = inspect.signature(detect_scenes_and_motion).parameters["threshold"].default
    assert default == DEFAULT_THRESHOLD == 20.0


def test_result_is_frozen_and_survives_json(sample_video: Path) -> None:
    result = detect_scenes_and_motion(sample_video, threshold=255)
    assert isinstance(result.cut_times, tuple) and isinstance(result.motion_timeline, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "changed"  # type: ignore[misc]
    data = json.loads(json.dumps(result.to_dict()))
    assert data["cut_times"] == list(result.cut_times)
    assert SceneMotionResult.from_dict(data) == result
