"""Audio made at test time: tones (with or without silent gaps) and WAV files from samples.

Tones are what the audio, sniffing and limit tests need: a signal that is clearly not speech,
of a known length, in any container ffmpeg writes. WAV files are written by the stdlib ``wave``
module, so the header says exactly what the caller asks (a forged sample rate included).
"""

from __future__ import annotations

import wave
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .ffmpeg import run_ffmpeg

if TYPE_CHECKING:
    import numpy as np


def gapped_tone_source(duration: float) -> str:
    """An ffmpeg ``lavfi`` source: a 440 Hz tone for 1.2 s in every 2 s, silence in between
    (clearly not speech), ``duration`` seconds long."""
    return f"aevalsrc=0.4*sin(2*PI*440*t)*lt(mod(t\\,2)\\,1.2):s=44100:d={duration}"


def make_audio(path: str | Path, *, duration: float = 6.0, with_silence: bool = True) -> Path:
    """Write a tone track (wav/mp3/m4a/… chosen by extension) with silent gaps if asked."""
    path = Path(path)
    src = gapped_tone_source(duration)
    if not with_silence:
        src = f"sine=f=440:sample_rate=44100:d={duration}"
    run_ffmpeg(["-f", "lavfi", "-i", src, "-t", str(duration), str(path)])
    return path


def make_tone(path: Path, *args: str, seconds: float = 1.0, frequency: int = 440) -> Path:
    """A sine tone encoded as ``path``'s extension implies, with extra ffmpeg output ``args``."""
    source = f"sine=frequency={frequency}:duration={seconds}"
    run_ffmpeg(["-f", "lavfi", "-i", source, *args, str(path)], timeout=60)
    return path


def tone(seconds: float, *, rate: int = 16000, frequency: float = 440.0) -> np.ndarray:
    """A sine wave at half scale as float samples in [-1, 1]."""
    import numpy as np

    t = np.arange(round(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * frequency * t)


def write_pcm16(
    path: str | Path, pieces: Iterable[np.ndarray], *, rate: int = 16000, channels: int = 1
) -> Path:
    """16-bit PCM WAV from int16 pieces written one after another (streamed, piece by piece);
    ``rate`` goes into the header as given."""
    path = Path(path)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        for piece in pieces:
            out.writeframes(piece.astype("<i2").tobytes())
    return path


def write_wav(path: Path, samples: np.ndarray, *, rate: int = 16000, channels: int = 1) -> Path:
    """16-bit PCM WAV of float ``samples`` in [-1, 1]; ``rate`` goes into the header as given
    (a forged one included)."""
    import numpy as np

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    return write_pcm16(path, [pcm], rate=rate, channels=channels)
