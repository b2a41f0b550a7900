"""Spoken English of known text for the speech tests and the benchmark, made with espeak-ng.

A synthetic voice is not a person, but its words are known exactly, so a word error rate can be
measured on every run without shipping recordings. espeak-ng (a system package) writes a
22 050 Hz WAV; PyAV resamples it to the 16 kHz mono 16-bit WAV that ``extract_audio`` makes.

Also here: German speech (espeak-ng's ``de`` voice) for the English-only model to refuse,
sounds that are not speech (white noise, a music-like mix of tones), and an MP3 damaged in the
middle (`make_damaged_mp3`), made with the ffmpeg of ``imageio-ffmpeg``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import write_pcm16
from .ffmpeg import run_ffmpeg

RATE = 16000

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back before five o'clock this afternoon.",
    "The weather today is sunny with a light breeze from the west.",
    "We will meet at the station and take the train to the city.",
    "Open the window and let some fresh air into the room.",
    "She bought three apples, two oranges and a loaf of bread.",
)

GERMAN_SENTENCES = (
    "Guten Morgen, meine Damen und Herren. Heute sprechen wir über das Wetter in Deutschland.",
    "Der Zug nach Berlin fährt um acht Uhr vom Hauptbahnhof ab.",
    "Wir treffen uns morgen Nachmittag im Café am Marktplatz.",
    "Bitte schließen Sie das Fenster, es ist sehr kalt draußen.",
)

#: A sentence pair read slowly, about 28 s, for the damaged-MP3 test; the damage goes in
#: the middle of the three pieces (the demo's first sentence).
DAMAGED_PAIR = (
    "The harbour festival starts on Saturday morning, and the boats will sail past the old "
    "lighthouse before noon.",
    "Welcome to the media analysis demo.",
    "This short video has four scenes, and this sentence is the only speech in it.",
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
        parts: list[np.ndarray] = []
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


def make_sentences_wav(
    path: str | Path, sentences: Sequence[str], *, voice: str = "en-us", gap_s: float = 0.7
) -> Path:
    """``sentences`` read by ``voice``, each after ``gap_s`` of silence, then 1 s of silence."""
    pieces: list[np.ndarray] = []
    for text in sentences:
        pieces += [silence(gap_s), espeak_samples(text, voice=voice)]
    return write_wav(path, [*pieces, silence(1.0)])


def noise_wav(path: str | Path, seconds: float, *, dbfs: float = -20.0, seed: int = 0) -> Path:
    """White noise at ``dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    scale = 32768 * 10 ** (dbfs / 20)
    samples = np.clip(rng.standard_normal(int(seconds * RATE)) * scale, -32768, 32767)
    return write_wav(path, [samples.astype(np.int16)])


def music_wav(path: str | Path, seconds: float) -> Path:
    """Something like music, with no voice: a chord of three tones and a bass note changing
    every half second, each note struck and decaying, over a soft hi-hat of noise."""
    t = np.arange(int(0.5 * RATE)) / RATE
    envelope = np.exp(-4 * t)
    chords = ((261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6))
    rng = np.random.default_rng(1)
    notes = []
    for i in range(int(seconds * 2)):
        root = chords[i % len(chords)]
        wave = sum(np.sin(2 * np.pi * f * t) for f in root) / 3
        wave += 0.5 * np.sin(2 * np.pi * root[0] / 2 * t)
        hat = rng.standard_normal(len(t)) * np.exp(-60 * t) * 0.1
        notes.append((0.3 * wave * envelope + hat) * 32767 * 0.8)
    return write_wav(path, [np.clip(np.concatenate(notes), -32768, 32767).astype(np.int16)])


@dataclass(frozen=True)
class DamagedSpeech:
    """An MP3 damaged in the middle: which sentence was said when, and which seconds of the
    decoded audio the damage changed (compared with the undamaged file, decoded alike)."""

    path: Path
    sentences: tuple[tuple[str, float, float], ...]  # (text, start s, end s)
    damaged: tuple[float, float]


def make_damaged_mp3(
    folder: str | Path,
    sentences: Sequence[str] = DAMAGED_PAIR,
    *,
    speed: int = 78,
    bitrate: str = "32k",
    damage_s: float = 3.0,
    middle: int = 1,
) -> DamagedSpeech:
    """Encode ``sentences`` (read at ``speed`` words a minute) as an MP3, then overwrite
    about ``damage_s`` seconds of it, centred on sentence ``middle``, with noise. Each frame's
    header and side information is left whole, so the damaged frames still decode, to a loud
    burst, and the stream keeps its length, as in a file damaged in transit."""
    folder = Path(folder)
    pieces, spans, t = [], [], 0.0
    for text in sentences:
        spoken = espeak_samples(text, speed=speed)
        pieces += [silence(0.3), spoken]
        spans.append((text, t + 0.3, t + 0.3 + len(spoken) / RATE))
        t = spans[-1][2]
    wav = write_wav(folder / "clean.wav", [*pieces, silence(0.5)])
    clean = folder / "clean.mp3"
    run_ffmpeg(["-i", str(wav), "-c:a", "libmp3lame", "-b:a", bitrate, str(clean)])
    data = clean.read_bytes()
    first, total_s = _first_frame(data), t + 0.5
    per_s = (len(data) - first) / total_s  # a constant bit rate: bytes grow with time
    _, start_s, end_s = spans[middle]
    start = first + int(((start_s + end_s - damage_s) / 2) * per_s)
    damaged = folder / "damaged.mp3"
    damaged.write_bytes(_damage(data, start, int(damage_s * per_s)))
    return DamagedSpeech(damaged, tuple(spans), _changed(clean, damaged, folder))


def _damage(data: bytes, start: int, size: int) -> bytes:
    """Noise over ``data[start:start + size]``, but not over frame headers and side info."""
    first = _first_frame(data)
    sync, keep = data[first : first + 2], 36  # 4 header bytes + side info (at most 32)
    noise = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    out = bytearray(data)
    kept: set[int] = set()
    for i in range(max(first, start - 2000), min(len(data) - 1, start + size)):
        if data[i : i + 2] == sync:
            kept.update(range(i, i + keep))
    for k in range(min(size, len(data) - start)):
        if start + k not in kept:
            out[start + k] = noise[k]
    return bytes(out)


def _first_frame(data: bytes) -> int:
    """Offset of the first MPEG audio frame (after an ID3v2 tag, whose size is syncsafe)."""
    skip = 0
    if data[:3] == b"ID3":
        skip = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    for i in range(skip, len(data) - 1):
        if data[i] == 0xFF and data[i + 1] & 0xE0 == 0xE0:
            return i
    raise ValueError("no MPEG audio frame found")


def _changed(clean: Path, damaged: Path, folder: Path) -> tuple[float, float]:
    """First and last second where the two files decode differently."""
    import wave

    from media_analysis_dagster.media.audio import extract_wav

    decoded = []
    for name, source in (("clean", clean), ("damaged", damaged)):
        extract_wav(source, folder / f"{name}-decoded.wav")
        with wave.open(str(folder / f"{name}-decoded.wav")) as w:
            decoded.append(np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int32))
    n = min(len(decoded[0]), len(decoded[1]))
    differs = np.flatnonzero(np.abs(decoded[0][:n] - decoded[1][:n]) > 64)
    if not len(differs):
        return (0.0, 0.0)
    return (float(differs[0]) / RATE, float(differs[-1]) / RATE)
