"""Duration, sample-rate and decoded-size limits on audio whose headers lie or inflate."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from media_analysis_dagster.media.audio import analyze_wav, extract_wav, probe_audio
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.probe import probe_video
from media_analysis_fixtures.audio import tone, write_wav
from media_analysis_fixtures.hostile_media import (
    concat_rate_change_mp3,
    make_big_pcm_blocks,
    make_long_audio_video,
    make_understated_mkv,
)
from media_analysis_fixtures.peak_memory import run_measured


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audio_limits")
    make_long_audio_video(d / "short_video_long_audio.mp4", hours=7)
    make_understated_mkv(d / "understated.mkv", seconds=10, claimed_s=1.0)
    concat_rate_change_mp3(d / "rate_change.mp3")
    return d


def test_a_long_audio_track_in_a_short_video_is_refused(media: Path, tmp_path: Path) -> None:
    """The video stream lasts one second; its audio track seven hours (an 800 MB WAV)."""
    path = media / "short_video_long_audio.mp4"
    with pytest.raises(MediaLimitError, match="has a stream that lasts 25200 s, longer than"):
        probe_video(path)
    with pytest.raises(MediaLimitError, match="lasts 25200 s, over the limit of 21600 s"):
        probe_audio(path)
    started = time.monotonic()
    with pytest.raises(MediaLimitError, match="over the limit of 60 s"):
        extract_wav(path, tmp_path / "a.wav", max_duration=60)  # decoding stops at the limit
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []


def test_the_decode_limit_holds_whatever_the_header_claims(media: Path, tmp_path: Path) -> None:
    path = media / "understated.mkv"
    assert probe_audio(path).duration == 1.0  # the header's claim
    with pytest.raises(MediaLimitError, match="over the limit of 5 s"):
        extract_wav(path, tmp_path / "a.wav", max_duration=5)
    assert list(tmp_path.iterdir()) == []
    assert extract_wav(path, tmp_path / "a.wav").duration == pytest.approx(10.0, abs=0.01)


@pytest.mark.parametrize("rate", [1, 1000, 4_000_000])
def test_forged_sample_rates_are_refused(tmp_path: Path, rate: int) -> None:
    """A header rate of 1 Hz makes each of 16,000 samples last a second (16,000 s of 16 kHz
    output from a 32 KB file); 4 MHz is no recording either."""
    path = write_wav(tmp_path / "forged.wav", tone(1.0), rate=rate)
    message = f"sample rate of {rate} Hz is outside the supported range of 2000-768000 Hz"
    with pytest.raises(UnsupportedMediaError, match=message):
        probe_audio(path)
    with pytest.raises(UnsupportedMediaError, match=message):
        extract_wav(path, tmp_path / "out" / "a.wav")
    with pytest.raises(UnsupportedMediaError, match=message):
        analyze_wav(path)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_sample_rate_change_mid_stream_is_resampled(media: Path, tmp_path: Path) -> None:
    info = extract_wav(media / "rate_change.mp3", tmp_path / "a.wav")
    assert info.duration == pytest.approx(2.0, abs=0.2)
    result = analyze_wav(tmp_path / "a.wav")
    assert result.dominant_frequency_hz == pytest.approx(440, abs=15)


def test_huge_decoded_frames_are_resampled_in_slices(tmp_path: Path) -> None:
    """Blocks of 2.4 M samples at 2 kHz: the old code resampled each to 19 M samples at once."""
    path = make_big_pcm_blocks(tmp_path / "blocks.mkv", seconds=1200, block_samples=2_400_000)
    out = tmp_path / "a.wav"
    result = run_measured(
        "from media_analysis_dagster.media.audio import extract_wav",
        f"result['duration'] = extract_wav({str(path)!r}, {str(out)!r}).duration",
    )
    assert result["duration"] == pytest.approx(1200.0, abs=0.01), result
    assert result["added_mb"] < 80, result
    out.unlink()


@pytest.mark.parametrize(
    ("seconds", "windows"), [(1 / 16000, 0), (0.01, 0), (0.029, 0), (0.1, 3), (0.5, 16)]
)
def test_short_clips_get_a_truthful_result(tmp_path: Path, seconds: float, windows: int) -> None:
    """Under one 30 ms window nothing windowed is claimed; a few windows are analysed as such."""
    samples = tone(seconds)
    result = analyze_wav(write_wav(tmp_path / "short.wav", samples))
    assert result.duration == pytest.approx(seconds, abs=0.001)
    assert result.frames_analyzed == windows
    expected_peak = 20 * np.log10(np.abs(samples).max()) if np.abs(samples).max() > 1e-6 else -120
    assert result.peak_dbfs == pytest.approx(expected_peak, abs=0.1)
    if windows == 0:
        assert result.loudness_lufs_approx is None and result.dominant_frequency_hz is None
        assert (result.silence_segments, result.speech_like_ratio) == ([], 0.0)
    else:
        assert result.dominant_frequency_hz == pytest.approx(440, abs=40)
        assert result.loudness_lufs_approx == pytest.approx(-9.0, abs=1.5)


@pytest.mark.parametrize("seconds", [1.0, 0.01])
def test_a_wav_whose_samples_are_all_cut_off_is_corrupt(tmp_path: Path, seconds: float) -> None:
    path = write_wav(tmp_path / "cut.wav", tone(seconds))
    path.write_bytes(path.read_bytes()[:44])  # the header still promises the samples
    with pytest.raises(CorruptMediaError, match="no audio samples"):
        analyze_wav(path)


def test_a_wav_cut_inside_a_sample_frame_is_analysed(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stereo.wav", np.repeat(tone(1.0), 2), channels=2)
    path.write_bytes(path.read_bytes()[:-3])  # the header still promises every sample
    result = analyze_wav(path)
    assert result.duration == 1.0 and result.frames_analyzed == 33
    with wave.open(str(path)) as wav:
        assert wav.getnframes() == 16000
