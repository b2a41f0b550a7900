"""Read a 16 kHz 16-bit PCM WAV in windows that end in quiet spots, for speech-to-text.

A window of ``chunk_s`` seconds ends at the middle of the quietest 200 ms within its last
``search_s`` seconds, so a cut falls between words: no word is split or heard twice, and no
overlap has to be de-duplicated. The samples after the cut are carried into the next window.
Only one window (plus the WAV reader's buffer) is ever in memory, whatever the length.
"""

from __future__ import annotations

import os
import wave
from collections.abc import Iterator

import numpy as np

from media_analysis_dagster.media.errors import CorruptMediaError, UnsupportedMediaError

SAMPLE_RATE = 16000


def open_wav(path: str | os.PathLike[str]) -> wave.Wave_read:
    """The open WAV (the caller closes it); any channel count, since windows are downmixed."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise CorruptMediaError("The audio file for transcription is missing or empty.")
    try:
        wav = wave.open(os.fspath(path), "rb")  # noqa: SIM115 - the caller closes it
    except (wave.Error, EOFError) as exc:
        raise CorruptMediaError("The audio for transcription is not a readable WAV file.") from exc
    if wav.getsampwidth() != 2 or wav.getframerate() != SAMPLE_RATE:
        wav.close()
        raise UnsupportedMediaError(
            f"Transcription needs 16-bit PCM WAV at {SAMPLE_RATE} Hz; this file is "
            f"{8 * wav.getsampwidth()}-bit at {wav.getframerate()} Hz."
        )
    return wav


def _read(wav: wave.Wave_read, frames: int) -> np.ndarray:
    raw = wav.readframes(frames)
    pcm = np.frombuffer(raw[: len(raw) - len(raw) % (2 * wav.getnchannels())], dtype="<i2")
    samples = pcm.reshape(-1, wav.getnchannels()).mean(axis=1, dtype=np.float32)
    return samples / np.float32(32768.0)


def _quiet_cut(samples: np.ndarray, search: int) -> int:
    """Index in the last ``search`` samples at the middle of the quietest 200 ms."""
    hop = SAMPLE_RATE // 50  # 20 ms
    region = samples[len(samples) - search :]
    n = len(region) // hop
    if n < 10:
        return len(samples)
    energy = np.square(region[: n * hop].reshape(n, hop), dtype=np.float32).mean(axis=1)
    smooth = np.convolve(energy, np.ones(10, dtype=np.float32), mode="valid")
    best = int(np.argmin(smooth))
    return len(samples) - search + (best + 5) * hop


def windows(
    wav: wave.Wave_read, chunk_s: float, search_s: float
) -> Iterator[tuple[int, np.ndarray]]:
    """``(offset in samples, float32 samples in [-1, 1))`` windows; see the module docstring."""
    size, search = int(chunk_s * SAMPLE_RATE), int(min(search_s, chunk_s / 2) * SAMPLE_RATE)
    buf, offset, eof = np.empty(0, dtype=np.float32), 0, False
    while True:
        if len(buf) < size and not eof:
            data = _read(wav, size - len(buf))
            eof = len(data) < size - len(buf)
            buf = np.concatenate([buf, data])
        if not len(buf):
            return
        cut = len(buf) if eof else _quiet_cut(buf, search)
        yield offset, buf[:cut]
        buf, offset = buf[cut:].copy(), offset + cut
