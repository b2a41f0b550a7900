"""The generators other tests, `make demo` and the benchmarks rely on."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import pytest

import media_analysis_fixtures as sample


def test_ffmpeg_exe_runs() -> None:
    exe = sample.ffmpeg_exe()
    assert os.access(exe, os.X_OK)


def test_cut_times() -> None:
    assert sample.cut_times(6.0, 4) == [1.5, 3.0, 4.5]
    assert sample.cut_times(5.0, 1) == []


def test_make_video_layout(tmp_path: Path) -> None:
    path = sample.make_video(tmp_path / "v.mp4", duration=2, size=(160, 120), fps=10, gop=5)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (160, 120)
        assert container.streams.audio, "audio track expected"
        keyframes = [f.pts * video.time_base for f in container.decode(video) if f.key_frame]
        assert [float(k) for k in keyframes] == [0.0, 0.5, 1.0, 1.5]


def test_audio_has_tones_and_silence(tmp_path: Path) -> None:
    import numpy as np

    for ext in ("wav", "mp3", "m4a"):
        path = sample.make_audio(tmp_path / f"a.{ext}", duration=4)
        with av.open(str(path)) as container:
            samples = np.concatenate(
                [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
            ).astype(float)
            rate = container.streams.audio[0].sample_rate
        assert len(samples) / rate == pytest.approx(4.0, abs=0.1)
        second = samples[: 2 * rate]  # tone for 1.2 s, then silence
        assert np.abs(second[int(0.2 * rate) : int(1.0 * rate)]).mean() > 0.1 * np.abs(second).max()
        assert np.abs(second[int(1.4 * rate) : int(1.9 * rate)]).max() < 0.02 * np.abs(second).max()


def test_counter_round_trip(tmp_path: Path) -> None:
    path = sample.make_counter_video(tmp_path / "c.mp4", frames=40, fps=10, gop=40)
    with av.open(str(path)) as container:
        numbers = [sample.read_counter(f.to_image()) for f in container.decode(video=0)]
    assert numbers == list(range(40))


def test_long_video_loops_by_copy(tmp_path: Path) -> None:
    path = sample.make_long_video(tmp_path / "long.mp4", 3.0, (64, 48), 10, unit=1.0)
    with av.open(str(path)) as container:
        assert container.duration / 1e6 == pytest.approx(3.0)
        times = [round(float(f.time), 3) for f in container.decode(video=0)]
    assert times == [i / 10 for i in range(30)]


def test_failure_carries_stderr(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="ffmpeg failed"):
        sample.make_video(tmp_path / "x.mp4", segments=["nosuchsource"])


def test_rotation_and_sar_are_written(tmp_path: Path) -> None:
    path = sample.make_video(tmp_path / "r.mp4", duration=1, rotate=180, sar=(4, 3), audio=False)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        assert abs(frame.rotation) == 180
        assert stream.sample_aspect_ratio == Fraction(4, 3)
