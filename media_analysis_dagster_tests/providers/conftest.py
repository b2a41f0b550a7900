"""Fixtures for provider tests: the fake provider server and small generated media files."""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_analysis_fixtures.fake_providers import FakeProviders

FAST_RETRIES = {"base_delay": 0.01, "max_delay": 0.05}
SECRET = "sk-SECRET-never-leak-0123456789"


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as server:
        yield server


@pytest.fixture
def make_wav(tmp_path: Path) -> Callable[[float], str]:
    """16 kHz mono 16-bit WAV of a tone, like the one ``extract_audio`` writes."""

    def make(seconds: float, name: str = "audio.wav") -> str:
        rate = 16_000
        t = np.arange(int(rate * seconds)) / rate
        samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2")
        path = tmp_path / name
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.tobytes())
        return str(path)

    return make


@pytest.fixture
def make_jpegs(tmp_path: Path) -> Callable[[int], tuple[str, ...]]:
    def make(count: int) -> tuple[str, ...]:
        paths = []
        for i in range(count):
            path = tmp_path / f"sheet_{i}.jpg"
            Image.new("RGB", (96, 64), (40 * i % 256, 120, 200)).save(path, "JPEG")
            paths.append(str(path))
        return tuple(paths)

    return make
