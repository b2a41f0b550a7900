"""The demo video made by PyAV alone: it decodes, cuts where it says, moves, and speaks."""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from media_analysis_dagster import demo_video as demo
from media_analysis_dagster.media.audio import extract_wav
from media_analysis_dagster.media.speech import transcribe_wav
from media_analysis_fixtures.speech import word_error_rate

# Measured: the demo's sentence comes back word for word (WER 0.0) from tiny.en.
MAX_WER = 0.15


@pytest.fixture(scope="module")
def demo_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo.make_demo_video(tmp_path_factory.mktemp("demo_video") / "demo.mp4")


def _small_frames(path: Path) -> tuple[list[float], np.ndarray]:
    """Every frame's time and a 64x36 grey copy of it."""
    import av

    times, pictures = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            times.append(float(frame.time))
            pictures.append(frame.reformat(width=64, height=36, format="gray").to_ndarray())
    return times, np.asarray(pictures, dtype=np.float32)


def test_streams_and_keyframes(demo_video: Path) -> None:
    import av

    with av.open(str(demo_video)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", 640, 360)
        assert video.average_rate == 25 and video.frames == 300
        assert audio.codec_context.name == "aac" and audio.sample_rate == 48000
        assert container.duration / 1e6 == pytest.approx(12.0, abs=0.1)
        keys = [float(p.pts * p.time_base) for p in container.demux(video) if p.is_keyframe]
    assert set(demo.demo_cut_times()) <= set(keys)  # every cut starts a GOP


def test_cuts_are_where_they_should_be_and_the_shape_moves(demo_video: Path) -> None:
    times, frames = _small_frames(demo_video)
    diffs = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    cut_at = [round(times[i + 1], 3) for i in np.flatnonzero(diffs > 20)]
    assert cut_at == demo.demo_cut_times() == [3.0, 6.0, 9.0]
    within = np.delete(diffs, np.flatnonzero(diffs > 20))
    assert within.min() > 0.1 and within.max() < 10  # moving, but no other cut


def test_audio_is_the_sentence_after_silence(demo_video: Path, tmp_path: Path) -> None:
    wav = tmp_path / "demo.wav"
    extract_wav(demo_video, wav)
    result = transcribe_wav(wav)
    assert word_error_rate(demo.DEMO_SENTENCE, result.text) < MAX_WER, result.text
    assert result.language == "en" and result.words
    assert demo.SPEECH_START_S - 0.6 < result.words[0].start < demo.SPEECH_START_S + 1.0
    assert result.words[-1].end < demo.SPEECH_START_S + 7.5
    import wave

    with wave.open(str(wav)) as w:
        lead = np.frombuffer(w.readframes(int(0.9 * 16000)), dtype="<i2")
    assert np.abs(lead).max() < 50  # silence before the sentence (AAC leaves a little noise)


def test_shipped_clip_is_small_and_packaged() -> None:
    clip = resources.files("media_analysis_dagster") / "data" / "demo_speech.flac"
    assert clip.is_file() and len(clip.read_bytes()) < 300_000
    samples = demo.speech_clip()
    assert len(samples) / demo.AUDIO_RATE == pytest.approx(7.09, abs=0.05)
    assert 0.3 < float(np.abs(samples).max()) <= 1.0


def test_short_video_without_any_ffmpeg_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The production install has no ffmpeg binary and no imageio-ffmpeg."""
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to execute on PATH
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # importing it fails
    assert shutil.which("ffmpeg") is None
    path = demo.make_demo_video(tmp_path / "short.mp4", duration=4.0, size=(128, 72))
    times, frames = _small_frames(path)
    assert len(times) == 100 and times[-1] == pytest.approx(3.96)
    diffs = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    cut_at = [round(times[i + 1], 3) for i in np.flatnonzero(diffs > 20)]
    assert cut_at == demo.demo_cut_times(4.0) == [1.0, 2.0, 3.0]
    assert not (tmp_path / "short.mp4.part").exists()


@pytest.mark.parametrize("kwargs", [{"size": (641, 360)}, {"size": (32, 32)}, {"duration": 0.5}])
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        demo.make_demo_video(tmp_path / "x.mp4", **kwargs)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
