"""extract_frames: each written frame is the one shown at its recorded presentation time.

The counter video draws each frame's number in blocks that survive JPEG, so a JPEG can be read
back and compared with ``frame_number``; its single keyframe forces decoding forward.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.frames import (
    default_frame_count,
    extract_frames,
    frame_targets,
)
from media_analysis_dagster.media.probe import probe_video
from media_analysis_fixtures import make_counter_video, read_counter
from media_analysis_fixtures.real_media import real_media

from .video_fixtures import *  # noqa: F403
from .video_fixtures import COUNTER_FPS


def test_targets_are_centred() -> None:
    assert frame_targets(12.0, 6) == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    assert frame_targets(5.0, 0) == []


def test_default_frame_count() -> None:
    assert default_frame_count(3) == 6
    assert default_frame_count(29.9) == 6
    assert default_frame_count(120) == 12
    assert default_frame_count(2 * 3600) == 18


@pytest.mark.parametrize("count", [6, 18, 40])
def test_accurate_frames_are_those_shown_at_target(
    counter_video: Path, tmp_path: Path, count: int
) -> None:
    frames = extract_frames(counter_video, tmp_path, count=count, accurate=True)
    assert [f.index for f in frames] == list(range(count))
    for f in frames:
        shown = int(f.target_time * COUNTER_FPS + 1e-9)  # last frame with pts <= target
        assert f.frame_number == shown  # the contract is ±1 frame; this file allows exact
        assert abs(f.pts_time - f.target_time) <= 1 / COUNTER_FPS + 1e-9
        assert read_counter(Image.open(f.path)) == f.frame_number
        assert f.pts_time == pytest.approx(f.frame_number / COUNTER_FPS)
        assert f.path.name == f"frame_{f.index + 1:04d}.jpg"


@pytest.mark.parametrize("count", [6, 18])
def test_default_mode_within_quarter_interval(
    counter_video: Path, tmp_path: Path, count: int
) -> None:
    info = probe_video(counter_video)
    frames = extract_frames(counter_video, tmp_path, count=count, info=info)
    quarter = info.duration / count / 4
    assert len(frames) == count
    for f in frames:
        assert abs(f.pts_time - f.target_time) <= quarter + 1e-9
        assert read_counter(Image.open(f.path)) == f.frame_number  # time recorded is true
        assert (f.width, f.height) == (320, 240)


def test_default_mode_uses_keyframe_when_close(tmp_path: Path) -> None:
    """With a keyframe every 5 frames, every target is within a quarter interval of one."""
    video = make_counter_video(tmp_path / "short_gop.mp4", frames=100, fps=25, gop=5)
    frames = extract_frames(video, tmp_path / "out", count=4)
    assert all(f.keyframe for f in frames)
    for f in frames:
        assert read_counter(Image.open(f.path)) == f.frame_number


def test_default_count_and_sizes(sample_video: Path, tmp_path: Path) -> None:
    frames = extract_frames(sample_video, tmp_path, max_side=160)
    assert len(frames) == 6
    assert all((f.width, f.height) == (160, 120) for f in frames)
    assert all(Image.open(f.path).size == (160, 120) for f in frames)


def test_rotation_gives_display_aspect(rotated_video: Path, tmp_path: Path) -> None:
    frames = extract_frames(rotated_video, tmp_path, count=2)
    assert all((f.width, f.height) == (240, 320) for f in frames)
    assert Image.open(frames[0].path).size == (240, 320)


def test_rotation_direction(tmp_path: Path) -> None:
    """Rotating 90° clockwise moves the picture's top-left block to the top-right."""
    import media_analysis_fixtures as sample

    plain = make_counter_video(tmp_path / "plain.mp4", frames=10, fps=10, gop=10)
    rotated = tmp_path / "rot.mp4"
    sample.run_ffmpeg(["-display_rotation", "270", "-i", str(plain), "-c", "copy", str(rotated)])
    assert probe_video(rotated).rotation == 90
    # frame 1 lights only bit 0, the top-left block
    frame = extract_frames(rotated, tmp_path / "out", count=10, accurate=True)[1]
    assert frame.frame_number == 1
    gray = np.asarray(Image.open(frame.path).convert("L"), dtype=float)
    h, w = gray.shape
    assert gray[: h // 8, -w // 8 :].mean() > 128  # top-right now lit
    assert gray[: h // 8, : w // 8].mean() < 128


def test_sample_aspect_ratio_gives_display_aspect(sar_video: Path, tmp_path: Path) -> None:
    frames = extract_frames(sar_video, tmp_path, count=2)
    assert all((f.width, f.height) == (640, 240) for f in frames)
    frames = extract_frames(sar_video, tmp_path / "small", count=1, max_side=320)
    assert (frames[0].width, frames[0].height) == (320, 120)


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(b"\x00" * 4096)
    with pytest.raises(CorruptMediaError):
        extract_frames(path, tmp_path / "out")


def _reference(path: Path, size: tuple[int, int], keep: set[float]) -> dict[float, np.ndarray]:
    """Frames at the ``keep`` pts times from a full sequential decode, scaled the way
    extract_frames scales them (minus the JPEG step), as half-size gray."""
    import av

    out = {}
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            t = round(float(frame.time), 4)
            if t in keep:
                out[t] = _gray(frame.to_image(width=size[0], height=size[1]))
    return out


def _pts_times(path: Path) -> list[float]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(round(float(f.time), 4) for f in container.decode(stream))


def _gray(image: Image.Image) -> np.ndarray:
    half = (image.width // 2, image.height // 2)
    return np.asarray(image.convert("L").resize(half, Image.BILINEAR), dtype=float)


@pytest.mark.parametrize("name", ["counter.mp4", "testvideo.mp4"])
@pytest.mark.parametrize("accurate", [False, True])
def test_real_media_matches_sequential_decode(name: str, accurate: bool, tmp_path: Path) -> None:
    """Each JPEG is the frame a full decode shows at its pts: closer to it than to neighbours."""
    video = real_media("pyscenedetect", name)
    fps = probe_video(video).fps
    frames = extract_frames(video, tmp_path, count=12, accurate=accurate)
    assert len(frames) == 12
    times = _pts_times(video)
    keys = [round(f.pts_time, 4) for f in frames]
    for f, key in zip(frames, keys, strict=True):
        assert key in times, f"{f.pts_time} is not the pts of any frame"
        if accurate:
            shown = max(t for t in times if t <= f.target_time + 1e-6)
            assert abs(f.pts_time - shown) < 1.5 / fps
    near = {t for k in keys for t in times[max(0, times.index(k) - 2) : times.index(k) + 3]}
    reference = _reference(video, (frames[0].width, frames[0].height), near)
    for f, key in zip(frames, keys, strict=True):
        image = _gray(Image.open(f.path))
        error = np.abs(image - reference[key]).mean()
        assert error < 3
        i = times.index(key)
        for other in times[max(0, i - 2) : i + 3]:
            if other != key and np.abs(reference[other] - reference[key]).mean() > 0.2:
                assert error < np.abs(image - reference[other]).mean()
