"""Spoken English of known text for the speech tests and the benchmark, made with espeak-ng.

A synthetic voice is not a person, but its words are known exactly, so a word error rate can be
measured on every run without shipping recordings. espeak-ng (a system package) writes a
22 050 Hz WAV; PyAV resamples it to the 16 kHz mono 16-bit WAV that ``extract_audio`` makes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .audio import write_pcm16

RATE = 16000

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back before five o'clock this afternoon.",
    "The weather today is sunny with a light breeze from the west.",
    "We will meet at the station and take the train to the city.",
    "Open the window and let some fresh air into the room.",
    "She bought three apples, two oranges and a loaf of bread.",
)


def require_espeak() -> None:
    """Skip without espeak-ng; under CI (``CI`` set) fail instead, since CI installs it."""
    import os

    import pytest

    if shutil.which("espeak-ng") is None:
        message = "espeak-ng is not installed (apt-get install espeak-ng)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


def espeak_samples(text: str, *, voice: str = "en-us", speed: int = 160) -> np.ndarray:
    """``text`` spoken by espeak-ng as 16 kHz mono int16 samples."""
    import av

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        parts = []
        with av.open(str(raw)) as container:
            for frame in container.decode(audio=0):
                parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def write_wav(path: str | Path, pieces: Sequence[np.ndarray]) -> Path:
    """Write int16 pieces one after another as a 16 kHz mono WAV (streamed, piece by piece)."""
    return write_pcm16(path, pieces, rate=RATE)


def make_speech_wav(
    path: str | Path, text: str, *, lead_s: float = 0.5, tail_s: float = 1.0
) -> Path:
    """One sentence with a little silence around it."""
    return write_wav(path, [silence(lead_s), espeak_samples(text), silence(tail_s)])


def make_long_wav(
    path: str | Path, sentences: Sequence[str], minutes: float, *, gap_s: float = 2.0
) -> tuple[Path, list[str]]:
    """Sentences and gaps repeated for ``minutes``; returns the path and the words spoken.

    Each sentence is synthesised once and written again as often as needed, so a long file costs
    a few espeak-ng calls.
    """
    spoken = [espeak_samples(s) for s in sentences]
    gap = silence(gap_s)
    pieces: list[np.ndarray] = []
    words: list[str] = []
    total, i = 0, 0
    while total < minutes * 60 * RATE:
        pieces += [spoken[i % len(spoken)], gap]
        words += normalize(sentences[i % len(sentences)])
        total += len(spoken[i % len(spoken)]) + len(gap)
        i += 1
    return write_wav(path, pieces), words


_NUMBERS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}
_NUMBERS |= {"6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten"}


def normalize(text: str) -> list[str]:
    """Lower-case words without punctuation; digits 0-10 spelled out (Whisper writes "5")."""
    text = text.lower().replace("o'clock", "oclock").replace("-", " ")
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBERS.get(w, w).replace("'", "") for w in words]


def word_error_rate(reference: Sequence[str] | str, hypothesis: Sequence[str] | str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    ref = normalize(reference) if isinstance(reference, str) else list(reference)
    hyp = normalize(hypothesis) if isinstance(hypothesis, str) else list(hypothesis)
    if not ref:
        return float(bool(hyp))
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)
