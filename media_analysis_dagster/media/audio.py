"""Audio: probe, decode to 16 kHz mono WAV for transcription, and measure it.

Decoding (``audio_decoding``) uses PyAV frame by frame and the stdlib ``wave`` writer, so memory
stays bounded by one decoded frame however long the input is; the measurements
(``audio_levels``: `analyze_wav`) read the WAV in blocks of 30 ms windows.

What a file claims is not trusted: the duration limit is checked on every stream's header and
again on the samples actually decoded (at the output rate, whatever the headers say), and input
sample rates and channel counts outside the supported range are refused.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.audio_decoding import (
    StrPath,
    check_shape,
    first_audio_stream,
    iter_frames,
    open_audio,
    resampled,
)
from media_analysis_dagster.media.audio_levels import AudioAnalysis, analyze_wav
from media_analysis_dagster.media.errors import CorruptMediaError, MediaLimitError
from media_analysis_dagster.media.probe import longest_duration

__all__ = [
    "MAX_DURATION_S",
    "AudioAnalysis",
    "AudioInfo",
    "analyze_wav",
    "extract_wav",
    "probe_audio",
]

#: Default limit on decoded audio, in seconds at the output rate.
MAX_DURATION_S = 6 * 3600.0


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


def _header_seconds(container: Any, stream: Any) -> float:
    """The stream's length as its headers (or the container's) say, 0.0 when they do not."""
    if stream.duration is not None and stream.time_base is not None:
        return max(0.0, float(stream.duration * stream.time_base))
    if container.duration is not None:
        return max(0.0, container.duration / 1_000_000)
    return 0.0


def probe_audio(path: StrPath, *, max_duration: float = MAX_DURATION_S) -> AudioInfo:
    """Describe the first audio stream; one frame is decoded to prove the stream is usable.

    The duration limit is checked against the longest stream in the file, not only this one.
    """
    with open_audio(path) as container:
        stream = first_audio_stream(container)
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
        first = next(iter_frames(container, stream), None)
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
    check_shape(info.sample_rate, info.channels)
    if info.duration <= 0:
        raise CorruptMediaError("The audio stream reports no duration.")
    return info


def extract_wav(
    path: StrPath,
    out_path: StrPath,
    *,
    sample_rate: int = 16000,
    max_duration: float | None = MAX_DURATION_S,
    on_progress: Callable[[float, float], None] | None = None,
) -> AudioInfo:
    """Decode the first audio stream to 16-bit mono PCM WAV at ``sample_rate``.

    ``max_duration`` (``None``: no limit) bounds the samples written, counted as they are
    decoded, so a file whose headers understate its length still stops at the limit. The
    output is written to ``<out_path>.part`` and renamed when complete, so a crash never leaves
    a half-written WAV that looks finished. ``on_progress(seconds written, seconds expected)``
    hears how far it is about once per second of audio (expected: what the headers say, or the
    seconds written when they say less).
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    part = out_path.with_name(out_path.name + ".part")
    limit = None if max_duration is None else int(max_duration * sample_rate)
    written, told = 0, 0
    try:
        with open_audio(path) as container:
            stream = first_audio_stream(container)
            expected = _header_seconds(container, stream)
            with wave.open(str(part), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(sample_rate)
                for data in resampled(iter_frames(container, stream), sample_rate):
                    written += len(data) // 2
                    if limit is not None and written > limit:
                        raise MediaLimitError(
                            f"The audio lasts over the limit of {max_duration:.0f} s."
                        )
                    wav.writeframes(data)
                    if on_progress is not None and written - told >= sample_rate:
                        told = written
                        on_progress(written / sample_rate, max(expected, written / sample_rate))
        if written == 0:
            raise CorruptMediaError("The audio stream contains no decodable audio.")
        os.replace(part, out_path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if on_progress is not None:
        on_progress(written / sample_rate, written / sample_rate)
    return AudioInfo(
        duration=round(written / sample_rate, 3),
        sample_rate=sample_rate,
        channels=1,
        codec="pcm_s16le",
        bit_rate=sample_rate * 16,
    )
