"""Audio: probe, decode to 16 kHz mono WAV for transcription, and measure it.

Decoding uses PyAV frame by frame and the stdlib ``wave`` writer, so memory stays bounded by one
decoded frame however long the input is. The analysis (:func:`analyze_wav`) reads the WAV in
blocks of 30 ms windows; it keeps a few numbers per window, not the samples.

What a file claims is not trusted: the duration limit is checked on every stream's header and
again on the samples actually decoded (at the output rate, whatever the headers say), and input
sample rates and channel counts outside ``SAMPLE_RATE_RANGE`` / ``MAX_CHANNELS`` are refused,
because a header saying 1 Hz turns each input sample into 16,000 output samples.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    SourceError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.probe import longest_duration

StrPath = str | os.PathLike[str]

#: Input sample rates accepted (Hz): telephone-grade and below is 8 kHz, studio masters 384 kHz.
SAMPLE_RATE_RANGE = (2_000, 768_000)
#: Input channels accepted (22.2 surround has 24; third-order ambisonics 16).
MAX_CHANNELS = 64
#: Default limit on decoded audio, in seconds at the output rate.
MAX_DURATION_S = 6 * 3600.0
#: Longest piece of a decoded frame resampled at once (more than any codec's frame).
_MAX_FRAME_SAMPLES = 1 << 16


@dataclass(frozen=True)
class AudioInfo:
    """What the first audio stream is, as recorded on the request."""

    duration: float
    sample_rate: int
    channels: int
    codec: str
    bit_rate: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _open(path: StrPath) -> Any:
    import av

    if not os.path.isfile(path):
        raise SourceError(f"The media file {Path(path).name} does not exist.")
    if os.path.getsize(path) == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise CorruptMediaError("The media could not be opened as audio or video.") from exc


def _first_audio_stream(container: Any) -> Any:
    if not container.streams.audio:
        raise UnsupportedMediaError("The media has no audio stream.")
    stream = container.streams.audio[0]
    stream.thread_type = "AUTO"
    return stream


def _check_shape(rate: int, channels: int) -> None:
    """Refuse sample rates and channel counts no real recording has (forged headers)."""
    low, high = SAMPLE_RATE_RANGE
    if not low <= rate <= high:
        raise UnsupportedMediaError(
            f"The audio's sample rate of {rate} Hz is outside the supported range of "
            f"{low}-{high} Hz."
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise UnsupportedMediaError(
            f"The audio has {channels} channels; between 1 and {MAX_CHANNELS} are supported."
        )


def _iter_frames(container: Any, stream: Any) -> Any:
    """Decoded frames of ``stream``; a damaged packet is skipped, a damaged tail ends the loop."""
    import av

    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:
            return  # truncated or damaged container: keep what was decoded so far
        try:
            yield from packet.decode()
        except av.FFmpegError:
            continue


def probe_audio(path: StrPath, *, max_duration: float = MAX_DURATION_S) -> AudioInfo:
    """Describe the first audio stream; one frame is decoded to prove the stream is usable.

    The duration limit is checked against the longest stream in the file, not only this one.
    """
    with _open(path) as container:
        stream = _first_audio_stream(container)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        longest = max(duration or 0.0, longest_duration(container))
        if longest > max_duration:
            raise MediaLimitError(
                f"The audio lasts {longest:.0f} s, over the limit of {max_duration:.0f} s."
            )
        first = next(_iter_frames(container, stream), None)
        if first is None:
            raise CorruptMediaError("The audio stream contains no decodable audio.")
        ctx = stream.codec_context
        info = AudioInfo(
            duration=round(duration or 0.0, 3),
            sample_rate=int(ctx.sample_rate or first.sample_rate),
            channels=int(first.layout.nb_channels if ctx.channels is None else ctx.channels),
            codec=ctx.codec.canonical_name,
            bit_rate=int(stream.bit_rate or container.bit_rate or 0) or None,
        )
    _check_shape(info.sample_rate, info.channels)
    if info.duration <= 0:
        raise CorruptMediaError("The audio stream reports no duration.")
    return info


def extract_wav(
    path: StrPath,
    out_path: StrPath,
    *,
    sample_rate: int = 16000,
    max_duration: float | None = MAX_DURATION_S,
) -> AudioInfo:
    """Decode the first audio stream to 16-bit mono PCM WAV at ``sample_rate``.

    ``max_duration`` (``None``: no limit) bounds the samples written, counted as they are
    decoded, so a file whose headers understate its length still stops at the limit. The
    output is written to ``<out_path>.part`` and renamed when complete, so a crash never leaves
    a half-written WAV that looks finished.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    limit = None if max_duration is None else int(max_duration * sample_rate)
    written = 0
    try:
        with _open(path) as container:
            stream = _first_audio_stream(container)
            with wave.open(str(part), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(sample_rate)
                for data in _resampled(_iter_frames(container, stream), sample_rate):
                    written += len(data) // 2
                    if limit is not None and written > limit:
                        raise MediaLimitError(
                            f"The audio lasts over the limit of {max_duration:.0f} s."
                        )
                    wav.writeframes(data)
        if written == 0:
            raise CorruptMediaError("The audio stream contains no decodable audio.")
        os.replace(part, out_path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return AudioInfo(
        duration=round(written / sample_rate, 3),
        sample_rate=sample_rate,
        channels=1,
        codec="pcm_s16le",
        bit_rate=sample_rate * 16,
    )


def _resampled(frames: Any, rate: int) -> Iterator[bytes]:
    """Mono s16 PCM at ``rate`` for each decoded frame, one frame in memory at a time.

    A stream may change its sample rate or layout mid-way (concatenated MP3s do); a resampler
    is set up for one input shape, so it is flushed and replaced when the shape changes.
    """
    import av

    resampler, shape = None, None
    try:
        for frame in frames:
            _check_shape(frame.sample_rate, frame.layout.nb_channels)
            frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
            if resampler is None or frame_shape != shape:
                if resampler is not None:
                    yield from _pcm(resampler.resample(None))
                resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
                shape = frame_shape
            for part in _slices(frame):
                yield from _pcm(resampler.resample(part))
        if resampler is not None:
            yield from _pcm(resampler.resample(None))
    except (av.FFmpegError, ValueError) as exc:
        raise CorruptMediaError(f"The audio could not be converted to {rate} Hz mono.") from exc


def _slices(frame: Any) -> Iterator[Any]:
    """``frame`` in pieces of at most ``_MAX_FRAME_SAMPLES`` samples.

    Codecs decode a few thousand samples per frame, but PCM in Matroska can carry millions in
    one block: resampled from 2 kHz in one go, a 24 MB file's 8 MB block became 128 MB of output
    at once (a 910 MB peak). Timestamps are dropped, as the WAV written has none.
    """
    import av
    import numpy as np

    frame.pts = None
    if frame.samples <= _MAX_FRAME_SAMPLES:
        yield frame
        return
    data = frame.to_ndarray()
    step = 1 if frame.format.is_planar else frame.layout.nb_channels
    for start in range(0, frame.samples, _MAX_FRAME_SAMPLES):
        piece = data[:, start * step : (start + _MAX_FRAME_SAMPLES) * step]
        part = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(piece), format=frame.format.name, layout=frame.layout.name
        )
        part.sample_rate = frame.sample_rate
        yield part


def _pcm(frames: list[Any]) -> Iterator[bytes]:
    for out in frames:
        yield out.to_ndarray().tobytes()


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
        _check_shape(rate, channels)
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
