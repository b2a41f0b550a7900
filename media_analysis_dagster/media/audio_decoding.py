"""Decoding audio with PyAV, one frame in memory at a time, and refusing forged shapes.

What a file claims is not trusted: input sample rates and channel counts outside
``SAMPLE_RATE_RANGE`` / ``MAX_CHANNELS`` are refused (`check_shape`), because a header saying
1 Hz turns each input sample into 16,000 output samples, and a frame holding millions of samples
is resampled in slices (`resampled`), so one decoded frame never inflates memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    SourceError,
    UnsupportedMediaError,
)

StrPath = str | os.PathLike[str]

#: Input sample rates accepted (Hz): telephone-grade and below is 8 kHz, studio masters 384 kHz.
SAMPLE_RATE_RANGE = (2_000, 768_000)
#: Input channels accepted (22.2 surround has 24; third-order ambisonics 16).
MAX_CHANNELS = 64
#: Longest piece of a decoded frame resampled at once (more than any codec's frame).
_MAX_FRAME_SAMPLES = 1 << 16


def open_audio(path: StrPath) -> Any:
    """The open PyAV container (the caller closes it); a missing, empty or unreadable file
    raises the MediaError that names what is wrong with it."""
    import av

    if not os.path.isfile(path):
        raise SourceError(f"The media file {Path(path).name} does not exist.")
    if os.path.getsize(path) == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")
    try:
        return av.open(os.fspath(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise CorruptMediaError("The media could not be opened as audio or video.") from exc


def first_audio_stream(container: Any) -> Any:
    """The stream analysed (the first audio one), set to decode on several threads."""
    if not container.streams.audio:
        raise UnsupportedMediaError("The media has no audio stream.")
    stream = container.streams.audio[0]
    stream.thread_type = "AUTO"
    return stream


def check_shape(rate: int, channels: int) -> None:
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


def iter_frames(container: Any, stream: Any) -> Any:
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


def resampled(frames: Any, rate: int) -> Iterator[bytes]:
    """Mono s16 PCM at ``rate`` for each decoded frame, one frame in memory at a time.

    A stream may change its sample rate or layout mid-way (concatenated MP3s do); a resampler
    is set up for one input shape, so it is flushed and replaced when the shape changes.
    """
    import av

    resampler, shape = None, None
    try:
        for frame in frames:
            check_shape(frame.sample_rate, frame.layout.nb_channels)
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
    """The raw bytes of resampled frames, ready for ``wave.writeframes``."""
    for out in frames:
        yield out.to_ndarray().tobytes()
