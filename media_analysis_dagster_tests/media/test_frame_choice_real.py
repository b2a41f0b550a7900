"""Real footage that fades through black: PySceneDetect's ``testvideo.mp4`` (fades at frames
15, 198 and 377, a copyright watermark on every black frame), looped by stream copy so the
sampling times land in the fades. No tile of the sheets is dark, flat or blurred where a
readable frame was within reach: for any such tile, every frame of its window is decoded and
none is readable. Skips without ``MEDIA_ANALYSIS_REAL_MEDIA_DIR`` (see `real_media`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.contact_sheets import SheetHeader, build_contact_sheets
from media_analysis_dagster.media.frame_quality import picture_defect
from media_analysis_dagster.media.frames import ExtractedFrame, extract_frames, frame_windows
from media_analysis_dagster.media.probe import probe_video
from media_analysis_fixtures import run_ffmpeg
from media_analysis_fixtures.real_media import real_media

_LOOPS: dict[int, Path] = {}


def _looped(tmp_path_factory: pytest.TempPathFactory, loops: int) -> Path:
    """testvideo.mp4 ``loops`` times by stream copy: the original's keyframes, at 0, 1, 6 and
    16 s of each loop, so most targets are reached by decoding forward."""
    if loops not in _LOOPS:
        clip = real_media("pyscenedetect", "testvideo.mp4")
        path = tmp_path_factory.mktemp("real") / f"looped{loops}.mp4"
        run_ffmpeg(["-stream_loop", str(loops - 1), "-i", str(clip), "-c", "copy", str(path)])
        _LOOPS[loops] = path
    return _LOOPS[loops]


@pytest.fixture(scope="module", params=[2, 4])
def looped(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The clip looped twice (48 s) and four times (96 s)."""
    return _looped(tmp_path_factory, request.param)


def _readable_in(video: Path, low: float, high: float) -> list[float]:
    """Times of the frames in ``[low, high]`` with no defect, from a sequential decode."""
    import av

    found = []
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.time_base is not None
        container.seek(max(0, int((low - 1) / stream.time_base)), stream=stream)
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if t > high + 1e-6:
                break
            if t >= low - 1e-6 and picture_defect(frame.to_image(width=320, height=180)) is None:
                found.append(t)
    return found


def _check(video: Path, frames: list[ExtractedFrame], windows: list[tuple[float, float]]) -> int:
    """Every defective tile had no readable frame in its window; returns how many of the
    usual picks (the plain default mode's frames) were defective."""
    for f, (low, high) in zip(frames, windows, strict=True):
        assert low - 1e-6 <= f.pts_time <= high + 1e-6
        defect = picture_defect(Image.open(f.path))
        if defect is not None:
            readable = _readable_in(video, low, high)
            assert not readable, f"tile at {f.pts_time:.2f} s is {defect}; {readable[:3]} were not"
            assert f.selection is not None and f.selection.reason == "best_available"
    return sum(f.selection is not None and f.selection.nearest.defect is not None for f in frames)


def test_default_mode_has_no_dark_tile_where_a_readable_frame_was_near(
    looped: Path, tmp_path: Path
) -> None:
    info = probe_video(looped)
    defective_usual = 0
    for count in (7, 12, 18, 25):
        frames = extract_frames(looped, tmp_path / str(count), count=count, info=info)
        assert len(frames) == count
        defective_usual += _check(looped, frames, frame_windows(info.duration, count))
        header = SheetHeader(looped.name, info.duration, 1280, 720, "h264")
        sheets = build_contact_sheets(frames, tmp_path / f"sheets{count}", header=header)
        assert sum(len(s.frame_indexes) for s in sheets) == count
    assert defective_usual >= 2  # the clip does put sampling times in its fades


def test_scene_aware_has_no_dark_tile_where_a_readable_frame_was_in_the_scene(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Scenes detected on the clip looped twice (the detector's own cuts, fades included);
    a scene that is black throughout keeps its black tile."""
    from media_analysis_dagster.media.scenes import detect_scenes_and_motion

    looped = _looped(tmp_path_factory, 2)
    info = probe_video(looped)
    scenes = list(detect_scenes_and_motion(looped).cut_times)
    assert len(scenes) >= 4  # the fades of two loops
    for count in (len(scenes) + 1, len(scenes) + 6):
        frames = extract_frames(looped, tmp_path / str(count), count=count, scenes=scenes)
        assert len(frames) == count
        _check(looped, frames, frame_windows(info.duration, count, scenes))
