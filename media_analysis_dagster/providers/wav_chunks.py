"""Split a PCM WAV into uploadable pieces and put their transcripts back on one timeline.

Transcription APIs cap uploads (25 MB at OpenAI and Groq: about 13 minutes of the 16 kHz mono
WAV that ``extract_audio`` writes). Cutting on frame boundaries with the stdlib ``wave`` module
needs no decoder, keeps memory bounded by one piece, and gives exact time offsets (frames /
rate) for shifting each piece's segments.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WAV_HEADER_BYTES = 44


@dataclass(frozen=True)
class WavChunk:
    index: int
    offset_s: float
    duration_s: float
    data: bytes  # a complete WAV file


def is_wav(path: str | Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


def wav_duration(path: str | Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())


def iter_wav_chunks(path: str | Path, max_bytes: int) -> Iterator[WavChunk]:
    """Yield WAV files of at most ``max_bytes`` each (header included), in order."""
    with wave.open(str(path), "rb") as src:
        rate = src.getframerate()
        frame_bytes = src.getsampwidth() * src.getnchannels()
        frames_per_chunk = (max_bytes - WAV_HEADER_BYTES) // frame_bytes
        if frames_per_chunk < 1:
            raise ValueError(f"upload limit {max_bytes} B is too small for one WAV frame")
        params = src.getparams()
        position = 0
        index = 0
        while True:
            frames = src.readframes(frames_per_chunk)
            if not frames:
                break
            count = len(frames) // frame_bytes
            buf = io.BytesIO()
            with wave.open(buf, "wb") as dst:
                dst.setparams(params)
                dst.writeframes(frames)
            yield WavChunk(index, position / rate, count / rate, buf.getvalue())
            position += count
            index += 1


def shift_items(items: list[dict[str, Any]] | None, offset_s: float) -> list[dict[str, Any]]:
    """Copies of timed items (segments, words) moved ``offset_s`` seconds later."""
    shifted = []
    for item in items or []:
        moved = dict(item)
        for key in ("start", "end"):
            if isinstance(moved.get(key), int | float):
                moved[key] = round(float(moved[key]) + offset_s, 3)
        shifted.append(moved)
    return shifted
