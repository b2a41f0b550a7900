"""Audio probing, WAV extraction and analysis on audio generated at test time."""

from __future__ import annotations

import json
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
from media_analysis_fixtures.audio import make_tone
from media_analysis_fixtures.video import make_clip as make_video

RATE = 16000


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def speech_like(seconds: float) -> np.ndarray:
    """Voiced-speech stand-in: a gliding 120-170 Hz harmonic source shaped by three formants,
    switched on and off at a syllable rate of 4 Hz."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 145 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = np.zeros_like(t)
    for h in range(1, 30):
        f = h * f0
        formants = sum(
            g * np.exp(-(((f - c) / w) ** 2)) for c, w, g in ((700, 300, 1), (1200, 400, 0.6))
        )
        x += (formants + 0.3 * np.exp(-(((f - 2500) / 500) ** 2))) * np.sin(h * phase)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, 1) ** 0.5
    return 0.3 * x / np.abs(x).max() * envelope


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audio")
    make_tone(d / "tone.mp3", "-c:a", "libmp3lame", seconds=2.0)
    make_tone(d / "tone.wav", "-ac", "2", "-ar", "44100", seconds=2.0)
    make_tone(d / "tone.m4a", "-c:a", "aac", seconds=2.0)
    make_video(d / "with_audio.mp4", seconds=2.0)
    make_video(d / "silent_video.mp4", seconds=1.0, audio=False)
    make_video(d / "faststart.mp4", seconds=4.0, faststart=True)
    data = (d / "faststart.mp4").read_bytes()
    (d / "truncated_tail.mp4").write_bytes(data[: len(data) // 2])  # header intact, tail gone
    data = (d / "with_audio.mp4").read_bytes()
    (d / "truncated_head.mp4").write_bytes(data[: len(data) // 3])  # moov (at the end) is gone
    (d / "empty.wav").write_bytes(b"")
    write_wav(d / "no_samples.wav", np.zeros(0))  # a valid header and zero samples
    (d / "notes.mp3").write_text("not audio at all\n", "utf-8")
    return d


@pytest.mark.parametrize(
    ("name", "codec", "rate", "channels"),
    [
        ("tone.mp3", "mp3", 44100, 1),
        ("tone.wav", "pcm_s16le", 44100, 2),
        ("tone.m4a", "aac", 44100, 1),
        ("with_audio.mp4", "aac", 44100, 1),
    ],
)
def test_probe_audio(media: Path, name: str, codec: str, rate: int, channels: int) -> None:
    info = probe_audio(media / name)
    assert (info.codec, info.sample_rate, info.channels) == (codec, rate, channels)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert json.loads(json.dumps(info.to_dict()))["codec"] == codec


def test_probe_audio_failures(media: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match="no audio stream"):
        probe_audio(media / "silent_video.mp4")
    with pytest.raises(CorruptMediaError, match=r"empty \(0 bytes\)"):
        probe_audio(media / "empty.wav")
    with pytest.raises(CorruptMediaError):
        probe_audio(media / "notes.mp3")
    with pytest.raises(CorruptMediaError):
        probe_audio(media / "truncated_head.mp4")
    with pytest.raises(MediaLimitError, match="over the limit"):
        probe_audio(media / "tone.mp3", max_duration=1.0)
    with pytest.raises(CorruptMediaError, match="no decodable audio"):
        probe_audio(media / "no_samples.wav")


@pytest.mark.parametrize("name", ["tone.mp3", "tone.wav", "with_audio.mp4"])
def test_extract_wav_is_16k_mono_s16(media: Path, tmp_path: Path, name: str) -> None:
    out = tmp_path / "out" / "speech.wav"
    info = extract_wav(media / name, out)
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.getnframes() / 16000 == pytest.approx(info.duration, abs=0.001)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert (info.sample_rate, info.channels, info.codec) == (16000, 1, "pcm_s16le")
    assert not out.with_name("speech.wav.part").exists()


def test_extract_wav_keeps_the_decodable_part_of_a_truncated_file(
    media: Path, tmp_path: Path
) -> None:
    info = extract_wav(media / "truncated_tail.mp4", tmp_path / "partial.wav")
    assert 0.3 < info.duration < 3.5


def test_extract_wav_failures_leave_no_file(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    for name, error in (
        ("silent_video.mp4", UnsupportedMediaError),
        ("empty.wav", CorruptMediaError),
        ("no_samples.wav", CorruptMediaError),
        ("notes.mp3", CorruptMediaError),
        ("truncated_head.mp4", CorruptMediaError),
    ):
        with pytest.raises(error):
            extract_wav(media / name, out)
    with pytest.raises(MediaLimitError):
        extract_wav(media / "tone.mp3", out, max_duration=0.5)
    assert list(tmp_path.iterdir()) == []


def test_analyze_sine_with_a_gap(tmp_path: Path) -> None:
    t = np.arange(3 * RATE) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    tone[RATE : 2 * RATE] = 0.0
    result = analyze_wav(write_wav(tmp_path / "sine.wav", tone))
    assert result.duration == 3.0
    assert result.peak_dbfs == pytest.approx(-6.02, abs=0.1)
    # Two thirds of the time at -9.03 dBFS (RMS of a 0.5 sine), one third silent.
    assert result.rms_dbfs == pytest.approx(-9.03 + 10 * np.log10(2 / 3), abs=0.2)
    assert result.loudness_lufs_approx == pytest.approx(-9.0, abs=1.0)
    assert len(result.silence_segments) == 1
    start, end = result.silence_segments[0]
    assert start == pytest.approx(1.0, abs=0.06) and end == pytest.approx(2.0, abs=0.06)
    assert result.silence_ratio == pytest.approx(1 / 3, abs=0.03)
    assert result.dominant_frequency_hz == pytest.approx(1000, abs=15)
    assert result.speech_like_ratio < 0.1
    assert result.frames_analyzed == 100
    assert json.loads(json.dumps(result.to_dict()))["silence_segments"] == [[start, end]]


def test_speech_like_signal_scores_higher_than_tone_and_noise(tmp_path: Path) -> None:
    speech = analyze_wav(write_wav(tmp_path / "speech.wav", speech_like(3.0)))
    noise = np.random.default_rng(1).normal(0, 0.1, 3 * RATE)
    hiss = analyze_wav(write_wav(tmp_path / "noise.wav", noise))
    assert speech.speech_like_ratio > 0.6
    assert hiss.speech_like_ratio < 0.2
    assert speech.silence_segments == []  # syllable gaps are shorter than min_silence_s


def test_analyze_silence_and_bad_input(tmp_path: Path) -> None:
    silent = analyze_wav(write_wav(tmp_path / "silent.wav", np.zeros(RATE)))
    assert silent.silence_segments == [(0.0, 1.0)] and silent.silence_ratio == 1.0
    assert silent.loudness_lufs_approx is None and silent.dominant_frequency_hz is None
    assert silent.rms_dbfs == -120.0
    with pytest.raises(CorruptMediaError, match="no audio samples"):
        analyze_wav(write_wav(tmp_path / "zero.wav", np.zeros(0)))
    (tmp_path / "junk.wav").write_bytes(b"RIFF1234WAVEjunk")
    with pytest.raises(CorruptMediaError):
        analyze_wav(tmp_path / "junk.wav")


def test_analyze_extracted_wav_end_to_end(media: Path, tmp_path: Path) -> None:
    extract_wav(media / "tone.m4a", tmp_path / "t.wav")
    result = analyze_wav(tmp_path / "t.wav")
    assert result.dominant_frequency_hz == pytest.approx(440, abs=15)
    assert result.speech_like_ratio < 0.1
