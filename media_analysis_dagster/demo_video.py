"""A sample video for ``media-analysis demo``, made with PyAV alone (no ffmpeg binary).

The production install has PyAV (its wheel bundles libx264 and the native AAC encoder) but no
``ffmpeg`` program, so the demo video is drawn in numpy and encoded here: ``SCENES`` visually
distinct scenes joined by hard cuts (each cut frame is forced to a keyframe), a disk that moves
across every scene so motion is never zero, and an AAC track carrying one spoken English
sentence, padded with silence. Every fact the demo's analysis should find is known in advance:
the cut times (:func:`demo_cut_times`), the sentence (:data:`DEMO_SENTENCE`) and where it is
spoken (from :data:`SPEECH_START_S`).

The sentence ships as ``data/demo_speech.flac`` (16 kHz mono 16-bit FLAC, 7.09 s, 133 kB). It
was made once with espeak-ng 1.51 and PyAV 18.1::

    espeak-ng -v en-us -s 160 -w demo22k.wav "<DEMO_SENTENCE>"
    # then PyAV: decode demo22k.wav (22 050 Hz), AudioResampler(format="s16", layout="mono",
    # rate=16000), encode with the "flac" encoder into demo_speech.flac
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

DEMO_SENTENCE = (
    "Welcome to the media analysis demo. This short video has four scenes, "
    "and this sentence is the only speech in it."
)
SPEECH_START_S = 1.0
DEMO_TITLE = "MEDIA ANALYSIS DEMO"
"""Shown on the first scene (white on a dark band), for the offline text reading to find."""
SCENES = 4
FPS = 25
AUDIO_RATE = 48000
_SPEECH_FILE = "data/demo_speech.flac"


def demo_cut_times(duration: float = 12.0, scenes: int = SCENES, fps: int = FPS) -> list[float]:
    """Presentation times of the first frame of scenes 2..n (cuts land on frame boundaries)."""
    frames = round(duration * fps)
    return [math.ceil(i * frames / scenes) / fps for i in range(1, scenes)]


def speech_clip() -> np.ndarray:
    """The shipped sentence as float32 mono samples at ``AUDIO_RATE``."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    parts: list[np.ndarray] = []
    with resources.as_file(resources.files("media_analysis_dagster") / _SPEECH_FILE) as path:
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype(np.float32)


def _backgrounds(width: int, height: int) -> list[np.ndarray]:
    """Four RGB pictures that differ in colour, layout and texture (so cuts are unmistakable)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    hue = 2 * np.pi * u
    rainbow = np.stack([np.sin(hue + k * 2 * np.pi / 3) * 0.5 + 0.5 for k in range(3)], axis=-1)
    rainbow *= (0.4 + 0.6 * (1 - v))[..., None]
    check = ((x // 40 + y // 40) % 2).astype(np.float32)[..., None]
    checker = check * np.array([0.1, 0.2, 0.9]) + (1 - check) * np.array([0.95, 0.85, 0.1])
    radius = np.hypot(u - 0.5, (v - 0.5) * height / max(width, 1))
    rings = (np.sin(radius * 80) * 0.5 + 0.5)[..., None] * np.array([0.1, 0.9, 0.3])
    stripes = ((x // 24) % 2).astype(np.float32)[..., None] * np.array([0.9, 0.1, 0.1])
    stripes += (v * 0.3)[..., None]
    return [(np.clip(b, 0, 1) * 255).astype(np.uint8) for b in (rainbow, checker, rings, stripes)]


def _disk_position(t: float, width: int, height: int, radius: int) -> tuple[int, int]:
    """A disk bouncing around the frame (a triangle wave on each axis)."""

    def bounce(pos: float, span: int) -> int:
        period = 2 * span
        p = pos % period
        return int(radius + (p if p < span else period - p))

    return bounce(t * 180, width - 2 * radius), bounce(t * 110, height - 2 * radius)


def _title(width: int, height: int) -> tuple[slice, np.ndarray]:
    """The title band: the rows it covers and its RGB pixels (Pillow's bundled font, so no
    system font is needed)."""
    from PIL import Image, ImageDraw, ImageFont

    band_height = max(24, height // 6)
    font = ImageFont.load_default(size=max(12, band_height * 3 // 5))
    band = Image.new("RGB", (width, band_height), (20, 20, 30))
    draw = ImageDraw.Draw(band)
    left, top, right, bottom = draw.textbbox((0, 0), DEMO_TITLE, font=font)
    origin = ((width - (right - left)) // 2 - left, (band_height - (bottom - top)) // 2 - top)
    draw.text(origin, DEMO_TITLE, fill=(255, 255, 255), font=font)
    first = height // 8
    return slice(first, first + band_height), np.asarray(band)


def _frames(duration: float, size: tuple[int, int]) -> Iterator[tuple[int, bool, np.ndarray]]:
    """(frame index, starts a scene, RGB picture) for every frame of the video; the first scene
    carries the title."""
    width, height = size
    backgrounds = _backgrounds(width, height)
    rows, band = _title(width, height)
    total = round(duration * FPS)
    starts = {round(t * FPS) for t in demo_cut_times(duration)}
    radius = max(4, min(width, height) // 10)
    yy, xx = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    disk = xx * xx + yy * yy <= radius * radius
    scene = 0
    for index in range(total):
        if index in starts:
            scene += 1
        picture = backgrounds[scene % len(backgrounds)].copy()
        cx, cy = _disk_position(index / FPS, width, height, radius)
        patch = picture[cy - radius : cy + radius + 1, cx - radius : cx + radius + 1]
        patch[disk[: patch.shape[0], : patch.shape[1]]] = (255, 255, 255)
        if scene == 0:
            picture[rows] = band
        yield index, index in starts, picture


def _audio_track(duration: float) -> np.ndarray:
    """Silence with the sentence at ``SPEECH_START_S`` (cut short if the video is shorter)."""
    track = np.zeros(round(duration * AUDIO_RATE), dtype=np.float32)
    speech = speech_clip()
    start = round(SPEECH_START_S * AUDIO_RATE)
    piece = speech[: max(0, len(track) - start)]
    track[start : start + len(piece)] = piece
    return track


def make_demo_video(
    path: str | Path, *, duration: float = 12.0, size: tuple[int, int] = (640, 360)
) -> Path:
    """Write the demo MP4 (H.264 + AAC) and return its path; see the module docstring.

    The file is written beside ``path`` and renamed when complete, so a reader never sees a
    half-written video.
    """
    import av

    width, height = size
    if width < 64 or height < 64 or width % 2 or height % 2:
        raise ValueError(f"size must be even and at least 64x64, not {width}x{height}")
    if duration < 1.0:
        raise ValueError(f"duration must be at least 1 s, not {duration}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    audio = _audio_track(duration)
    try:
        with av.open(str(part), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            video = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            sound.bit_rate = 64000
            sent = 0
            for index, cut, picture in _frames(duration, size):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts = index
                frame.time_base = Fraction(1, FPS)
                if cut:
                    frame.pict_type = av.video.frame.PictureType.I
                out.mux(video.encode(frame))
                until = min(len(audio), round((index + 1) / FPS * AUDIO_RATE))
                sent = _send_audio(out, sound, audio, sent, until)
            _send_audio(out, sound, audio, sent, len(audio))
            out.mux(video.encode(None))
            out.mux(sound.encode(None))
        part.replace(path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return path


def _send_audio(out: Any, stream: Any, audio: np.ndarray, sent: int, until: int) -> int:
    """Encode ``audio[sent:until]`` in 1024-sample frames (AAC's frame size); returns the new
    position. Interleaving audio with video keeps the MP4 streamable."""
    import av

    while sent < until:
        chunk = audio[sent : min(sent + 1024, until)]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = sent
        frame.time_base = Fraction(1, AUDIO_RATE)
        out.mux(stream.encode(frame))
        sent += len(chunk)
    return sent
