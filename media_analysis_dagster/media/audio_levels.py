"""Measuring a WAV: level, loudness, silence and how much of it sounds like speech.

The WAV is read in blocks of 30 ms windows and only a few numbers per window are kept, not the
samples, so memory stays bounded however long the audio is.
"""

from __future__ import annotations

import os
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.audio_decoding import StrPath, check_shape
from media_analysis_dagster.media.errors import CorruptMediaError, SourceError

# BS.1770 K-weighting (pre-filter shelf and RLB high-pass) as published for 48 kHz. Only their
# magnitude response is used, evaluated at the physical frequencies of each FFT bin.
_K_STAGES = (
    (
        (1.53512485958697, -2.69169618940638, 1.19839281085285),
        (-1.69065929318241, 0.73248077421585),
    ),
    ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621)),
)
_WINDOW_S = 0.03
_WINDOWS_PER_BLOCK = 1000


@dataclass
class AudioAnalysis:
    """Level, silence and speech-likeness of a WAV file (levels in dB relative to full scale)."""

    duration: float
    rms_dbfs: float
    peak_dbfs: float
    loudness_lufs_approx: float | None
    silence_segments: list[tuple[float, float]] = field(default_factory=list)
    silence_ratio: float = 0.0
    speech_like_ratio: float = 0.0
    dominant_frequency_hz: float | None = None
    frames_analyzed: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["silence_segments"] = [list(segment) for segment in self.silence_segments]
        return data


def _k_weight(freqs: Any) -> Any:
    import numpy as np

    z = np.exp(-1j * 2 * np.pi * freqs / 48000.0)
    gain = np.ones_like(freqs)
    for (b0, b1, b2), (a1, a2) in _K_STAGES:
        gain = gain * np.abs((b0 + b1 * z + b2 * z**2) / (1 + a1 * z + a2 * z**2)) ** 2
    return gain


def _to_mono(data: bytes, width: int, channels: int) -> Any:
    import numpy as np

    data = _whole_frames(data, width, channels)
    if width == 1:
        samples = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        raw = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        samples = (np.where(value >= 1 << 23, value - (1 << 24), value) / 8388608.0).astype(
            np.float32
        )
    else:
        samples = (np.frombuffer(data, "<i4") / 2147483648.0).astype(np.float32)
    return samples.reshape(-1, channels).mean(axis=1)


def _whole_frames(data: bytes, width: int, channels: int) -> bytes:
    """``data`` cut to whole sample frames (a truncated WAV can end inside one)."""
    frame = width * channels
    return data[: len(data) - len(data) % frame]


def _db(power: float) -> float:
    import math

    return round(10 * math.log10(power), 2) if power > 1e-12 else -120.0


def analyze_wav(
    wav_path: StrPath, *, silence_threshold_dbfs: float = -45.0, min_silence_s: float = 0.3
) -> AudioAnalysis:
    """Measure level, loudness, silence and a speech-likeness ratio in 30 ms windows.

    ``speech_like_ratio`` is a heuristic, not a voice detector: a non-silent window counts as
    speech-like when most of its energy lies in the 300-3400 Hz telephone band, no single
    frequency dominates it (which rules out steady tones), its zero-crossing rate is in the range
    of voice, and the level around it varies by a few dB within half a second, as syllables do.
    Music and some noise can pass; a steady sine tone or hum does not. ``loudness_lufs_approx``
    applies the BS.1770 K-weighting in the frequency domain and its gating over ~400 ms blocks,
    so it is close to, but not certified as, integrated loudness.
    """
    import numpy as np

    with _open_wav(wav_path) as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        total = wav.getnframes()
        if total == 0 or rate <= 0:
            raise CorruptMediaError("The WAV file contains no audio samples.")
        check_shape(rate, channels)
        win = round(_WINDOW_S * rate)
        if total < win:
            return _short_clip(wav.readframes(total), width, channels, rate)
        nfft = 1 << (win - 1).bit_length()
        freqs = np.fft.rfftfreq(nfft, 1.0 / rate)
        band, usable = (freqs >= 300) & (freqs <= 3400), freqs >= 60
        kweight, taper = _k_weight(freqs), np.hanning(win).astype(np.float32)
        spectrum_sum = np.zeros(len(freqs))
        sum_sq, count, peak = 0.0, 0, 0.0
        per_window: list[Any] = []
        while data := wav.readframes(win * _WINDOWS_PER_BLOCK):
            x = _to_mono(data, width, channels)
            if len(x) == 0:
                break  # a truncated file ends inside a sample frame
            sum_sq += float(np.dot(x, x))
            count += len(x)
            peak = max(peak, float(np.abs(x).max(initial=0.0)))
            n = len(x) // win
            if n == 0:
                continue
            frames = x[: n * win].reshape(n, win)
            power = np.abs(np.fft.rfft(frames * taper, nfft)) ** 2
            features = _window_features(frames, power, band, usable, kweight)
            per_window.append(features)
            spectrum_sum += power[features[:, 0] >= silence_threshold_dbfs].sum(axis=0)
    if count == 0:
        raise CorruptMediaError("The WAV file contains no audio samples.")
    duration = count / rate  # what was read: a truncated file's header promises more
    feats = np.concatenate(per_window) if per_window else np.zeros((0, 5))
    db, zcr, in_band, tonal, weighted = feats.T
    silent = db < silence_threshold_dbfs
    segments = _silence_segments(silent, win / rate, min_silence_s, duration)
    loud = ~silent
    spread = _moving_spread(np.clip(db, silence_threshold_dbfs - 10, 0))
    speech = loud & (in_band >= 0.5) & (tonal < 0.5) & (zcr > 0.01) & (zcr < 0.5) & (spread >= 2.0)
    return AudioAnalysis(
        duration=round(duration, 3),
        rms_dbfs=_db(sum_sq / max(count, 1)),
        peak_dbfs=_db(peak * peak),
        loudness_lufs_approx=_gated_loudness(weighted),
        silence_segments=segments,
        silence_ratio=round(float(sum(end - start for start, end in segments) / duration), 4),
        speech_like_ratio=round(float(speech.sum() / loud.sum()), 4) if loud.any() else 0.0,
        dominant_frequency_hz=_dominant(spectrum_sum, freqs) if loud.any() else None,
        frames_analyzed=len(feats),
    )


def _open_wav(wav_path: StrPath) -> wave.Wave_read:
    if not os.path.isfile(wav_path):
        raise SourceError(f"The audio file {Path(wav_path).name} does not exist.")
    try:
        return wave.open(os.fspath(wav_path), "rb")  # the caller closes it
    except (wave.Error, EOFError) as exc:
        raise CorruptMediaError("The audio file is not a readable PCM WAV file.") from exc


def _window_features(frames: Any, power: Any, band: Any, usable: Any, kweight: Any) -> Any:
    """Per 30 ms window: level (dB), zero-crossing rate, share of energy in the voice band,
    share in the strongest peak (tonality) and K-weighted mean square."""
    import numpy as np

    total_power = power[:, usable].sum(axis=1) + 1e-20
    top = power.argmax(axis=1)
    idx = np.clip(top[:, None] + np.arange(-2, 3), 0, power.shape[1] - 1)
    ms = (frames.astype(np.float64) ** 2).mean(axis=1)
    signs = np.signbit(frames)
    return np.column_stack(
        [
            10 * np.log10(ms + 1e-12),
            (signs[:, 1:] != signs[:, :-1]).mean(axis=1),
            power[:, band].sum(axis=1) / total_power,
            np.take_along_axis(power, idx, axis=1).sum(axis=1) / total_power,
            ms * (power * kweight).sum(axis=1) / (power.sum(axis=1) + 1e-20),
        ]
    )


def _short_clip(data: bytes, width: int, channels: int, rate: int) -> AudioAnalysis:
    """A clip shorter than one 30 ms window: its level, and no windowed measures (no window
    was analysed, so no silence run, speech ratio, loudness block or spectrum exists)."""
    import numpy as np

    x = _to_mono(data, width, channels)
    if len(x) == 0:
        raise CorruptMediaError("The WAV file contains no audio samples.")
    duration = len(x) / rate
    power = float(np.dot(x, x)) / max(len(x), 1)
    peak = float(np.abs(x).max(initial=0.0))
    return AudioAnalysis(round(duration, 3), _db(power), _db(peak * peak), None)


def _moving_spread(level: Any, half: int = 8) -> Any:
    """Standard deviation of ``level`` over a centred window of ``2 * half + 1`` windows
    (about half a second), cut at the ends, so any number of windows works."""
    import numpy as np

    n = len(level)
    sums = np.concatenate([[0.0], np.cumsum(level)])
    squares = np.concatenate([[0.0], np.cumsum(level**2)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    count = np.maximum(hi - lo, 1)
    mean = (sums[hi] - sums[lo]) / count
    return np.sqrt(np.maximum((squares[hi] - squares[lo]) / count - mean**2, 0))


def _silence_segments(
    silent: Any, step: float, min_silence_s: float, duration: float
) -> list[tuple[float, float]]:
    """Runs of silent windows of at least ``min_silence_s``; a run reaching the last window
    extends to the end, since the remainder is shorter than one window."""
    import numpy as np

    edges = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [
        (round(float(s * step), 3), round(duration if e == len(silent) else float(e * step), 3))
        for s, e in zip(starts, ends, strict=True)
        if (e - s) * step >= min_silence_s
    ]


def _gated_loudness(weighted: Any) -> float | None:
    """BS.1770 gating over blocks of 13 windows (390 ms) with a hop of 3 windows."""
    import numpy as np

    if len(weighted) == 0:
        return None
    size = min(13, len(weighted))
    blocks = np.convolve(weighted, np.ones(size) / size, "valid")[::3]
    blocks = blocks[-0.691 + 10 * np.log10(blocks + 1e-20) > -70]
    if len(blocks) == 0:
        return None
    relative = -0.691 + 10 * np.log10(blocks.mean()) - 10
    blocks = blocks[-0.691 + 10 * np.log10(blocks) > relative]
    return round(float(-0.691 + 10 * np.log10(blocks.mean())), 2)


def _dominant(spectrum: Any, freqs: Any) -> float | None:
    """Strongest frequency above 50 Hz, refined by parabolic interpolation between bins."""
    import numpy as np

    spectrum = np.where(freqs >= 50, spectrum, 0)
    k = int(spectrum.argmax())
    if spectrum[k] <= 0:
        return None
    if 0 < k < len(spectrum) - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-30)
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom else 0.0
    else:
        offset = 0.0
    return round(float((k + offset) * (freqs[1] - freqs[0])), 1)
