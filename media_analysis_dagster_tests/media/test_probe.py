"""probe_video on generated videos and on broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

import media_analysis_fixtures as sample
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.probe import probe_video

from .video_fixtures import *  # noqa: F403


def test_probe_sample(sample_video: Path) -> None:
    info = probe_video(sample_video)
    assert info.duration == pytest.approx(6.0, abs=0.05)
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == (320, 240)
    assert (info.display_width, info.display_height) == (320, 240)
    assert info.rotation == 0
    assert info.sample_aspect_ratio == 1.0
    assert info.frame_count == 150
    assert info.video_codec == "h264"
    assert "mp4" in info.container
    assert info.has_audio and info.audio_codec == "aac"
    assert info.audio_sample_rate == 44100 and info.audio_channels == 1
    assert info.bit_rate and info.bit_rate > 0
    assert info.to_dict()["display_width"] == 320


def test_no_audio(sar_video: Path) -> None:
    info = probe_video(sar_video)
    assert not info.has_audio
    assert info.audio_codec is info.audio_sample_rate is info.audio_channels is None


def test_rotation_swaps_display_size(rotated_video: Path) -> None:
    info = probe_video(rotated_video)
    assert info.rotation == 90
    assert (info.width, info.height) == (320, 240)
    assert (info.display_width, info.display_height) == (240, 320)


def test_rotation_270(tmp_path: Path) -> None:
    path = sample.make_video(tmp_path / "r270.mp4", duration=1, rotate=270, audio=False)
    info = probe_video(path)
    assert info.rotation == 270
    assert (info.display_width, info.display_height) == (240, 320)


def test_sample_aspect_ratio_widens_display(sar_video: Path) -> None:
    info = probe_video(sar_video)
    assert info.sample_aspect_ratio == pytest.approx(2.0)
    assert (info.display_width, info.display_height) == (640, 240)


def test_limits(sample_video: Path) -> None:
    with pytest.raises(MediaLimitError, match="longer than the limit"):
        probe_video(sample_video, max_duration=5)
    with pytest.raises(MediaLimitError, match="pixels"):
        probe_video(sample_video, max_pixels=320 * 239)


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match="empty"):
        probe_video(path)


def test_truncated(sample_video: Path, tmp_path: Path) -> None:
    data = sample_video.read_bytes()  # moov at the end (no faststart): the index is cut off
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: int(len(data) * 0.3)])
    with pytest.raises(CorruptMediaError):
        probe_video(path)


def test_truncated_faststart(tmp_path: Path) -> None:
    """Index first, media data cut off before the first frame: no decodable frame."""
    src = sample.make_video(
        tmp_path / "fast.mp4", duration=1, audio=False, extra_args=["-movflags", "+faststart"]
    )
    data = src.read_bytes()
    moov = data.index(b"moov")
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: data.index(b"mdat", moov) + 64])
    with pytest.raises(CorruptMediaError):
        probe_video(path)


def test_text_renamed(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("This is a plain text file, not a video.\n" * 20)
    with pytest.raises((CorruptMediaError, UnsupportedMediaError)):
        probe_video(path)


def test_audio_only_is_unsupported(tmp_path: Path) -> None:
    path = sample.make_audio(tmp_path / "tone.m4a", duration=1)
    with pytest.raises(UnsupportedMediaError, match="no video stream"):
        probe_video(path)


def test_messages_are_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(CorruptMediaError) as exc:
        probe_video(path)
    message = str(exc.value)
    assert message.endswith(".") and "\n" not in message
