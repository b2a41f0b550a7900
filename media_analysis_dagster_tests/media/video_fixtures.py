"""Videos generated once per test session for the video tests (real media, no mocks).

Star-import this module into a test module (``from .video_fixtures import *``); the fixtures
are session-scoped so the probe, frame, sheet and scene tests share one set of small files. The
makers are ``media_analysis_fixtures``'; these fixtures stay here, with the only tests using them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import media_analysis_fixtures as sample

__all__ = ["counter_video", "rotated_video", "sample_video", "sar_video", "video_dir"]

COUNTER_FPS = 25
COUNTER_FRAMES = 300  # 12 s with one keyframe: every target needs decoding forward


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def sample_video(video_dir: Path) -> Path:
    """6 s, 320x240, 25 fps, 4 segments (cuts at 1.5/3/4.5 s), a tone track."""
    return sample.make_video(video_dir / "sample.mp4")


@pytest.fixture(scope="session")
def counter_video(video_dir: Path) -> Path:
    """Frame n shows n in binary blocks; GOP longer than the video."""
    return sample.make_counter_video(
        video_dir / "counter.mp4", frames=COUNTER_FRAMES, fps=COUNTER_FPS, gop=COUNTER_FRAMES
    )


@pytest.fixture(scope="session")
def rotated_video(video_dir: Path) -> Path:
    return sample.make_video(video_dir / "rotated.mp4", duration=3, rotate=90, audio=False)


@pytest.fixture(scope="session")
def sar_video(video_dir: Path) -> Path:
    return sample.make_video(video_dir / "sar.mp4", duration=3, sar=(2, 1), audio=False)
