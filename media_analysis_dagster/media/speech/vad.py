"""Where speech is in a window of audio (Silero VAD), and the clips Whisper decodes one by one.

Only what Silero VAD (its ONNX model ships inside the faster-whisper wheel) calls speech reaches
Whisper, so silence, noise and music give no lines: Whisper invents text for them ("Thank you.",
"♪"), and nothing in its own scores tells an invented line from a heard one reliably.

Why clips, decoded apart (faster-whisper's ``clip_timestamps``), instead of faster-whisper's own
``vad_filter``: that filter glues the speech of a whole window together and decodes it in 30 s
pieces, and every decision is taken per piece. A damaged spot in an MP3 decodes to a burst of
noise; tiny.en loops on it, the piece's compression ratio goes over 2.4 (6.4 measured for a
piece holding one clean sentence and the burst), so faster-whisper throws the piece's result
away and decodes it again by *sampling* at temperatures 0.2-1.0: each run gives other words
(measured: four runs, four transcripts, "Hello, hello, hello" in one), and when the sampled
result scores an average log-probability under -1 with a no-speech probability over 0.6, the
whole 30 s piece is skipped as silence, clean speech before and after the burst with it: the
27 s lost in half the tries. The fix is at that root: a fixed beam search at temperature 0
only, no piece is ever skipped as "no speech" (VAD has said what is speech), each segment is
judged on its own (``hallucinations``), and here a clip ends at a pause, holds at most
`MAX_CLIP_S` of audio and is decoded on its own, so damage stays inside the clip it is in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from media_analysis_dagster.media.speech.wav_windows import SAMPLE_RATE

#: Silero's speech probability threshold (its authors' default).
THRESHOLD = 0.5
#: Speech shorter than this is a click or a cough, not a word.
MIN_SPEECH_MS = 250
#: A pause this long ends a stretch of speech.
MIN_SILENCE_MS = 500
#: Kept on each side of a stretch so the first and last sounds of a word are not clipped.
PAD_MS = 200
#: Longest clip decoded at once: Whisper's own window.
MAX_CLIP_S = 30.0
#: Stretches closer than this are decoded together (Whisper reads a sentence better whole).
JOIN_GAP_S = 1.5


@dataclass(frozen=True)
class Clip:
    """Seconds from the start of the window: one piece Whisper decodes on its own."""

    start: float
    end: float


def speech_spans(samples: np.ndarray) -> list[tuple[int, int]]:
    """``(start, end)`` sample indices of the speech Silero VAD hears in ``samples``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(samples) < SAMPLE_RATE // 10:
        return []
    options = VadOptions(
        threshold=THRESHOLD,
        min_speech_duration_ms=MIN_SPEECH_MS,
        min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=PAD_MS,
        max_speech_duration_s=MAX_CLIP_S,
    )
    found = get_speech_timestamps(samples, options, sampling_rate=SAMPLE_RATE)
    return [(int(s["start"]), int(s["end"])) for s in found if s["end"] > s["start"]]


def clips(spans: list[tuple[int, int]]) -> list[Clip]:
    """Neighbouring spans joined into clips of at most `MAX_CLIP_S` (a span longer than that,
    which VAD only makes when nobody pauses, is left to Whisper to read in 30 s steps)."""
    out: list[Clip] = []
    for first, last in spans:
        start, end = first / SAMPLE_RATE, last / SAMPLE_RATE
        if out and start - out[-1].end <= JOIN_GAP_S and end - out[-1].start <= MAX_CLIP_S:
            out[-1] = Clip(out[-1].start, end)
        else:
            out.append(Clip(start, end))
    return out


def speech_seconds(spans: list[tuple[int, int]]) -> float:
    """Seconds of speech in ``spans`` (padding included)."""
    return sum(end - start for start, end in spans) / SAMPLE_RATE
