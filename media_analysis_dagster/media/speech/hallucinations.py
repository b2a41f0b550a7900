"""Which decoded segments Whisper invented rather than heard, judged by the model's own scores.

faster-whisper scores a whole decode (up to 30 s: ``avg_logprob``, ``no_speech_prob``,
``compression_ratio``), so every segment of a decode carries the same numbers, and one looping
stretch (a damaged spot, a foreign word) gives a clean sentence beside it a compression ratio
of 6. So each segment is judged on what is its own: its text's compression ratio (computed here
as Whisper does) and its words' probabilities; the decode's ``no_speech_prob`` is used only
together with those. A segment is dropped when

- it repeats the text of the segment kept before it (tiny.en on German speech wrote one
  invented English line four times);
- its text loops: a compression ratio over `MAX_COMPRESSION` (Whisper's own fallback bound),
  or one word or short phrase said `LOOP_REPEATS` times in a row. A loop inside a segment
  with real words around it (the decoder stuck on a damaged spot: "Welcome to the table,
  hello, hello, hello, hello. This short video has four scenes …") is cut out of it first
  (`loop_run`, by the caller, on the segment's timed words), and the rest is judged;
- it is Whisper's no-speech case, per segment: ``no_speech_prob`` over `NO_SPEECH` and its
  words' mean log-probability under `LOW_LOGPROB` (Whisper's rule, which it applies per 30 s);
- it is one of the lines Whisper is known to invent for silence and noise ("Thank you.",
  "Thanks for watching!", subtitle credits …) and the scores do not back it: word probability
  under `WEAK_PROBABILITY` or ``no_speech_prob`` over `WEAK_NO_SPEECH`. A person who says
  "Thank you." clearly keeps it.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

MAX_COMPRESSION = 2.4
LOOP_REPEATS = 4
NO_SPEECH = 0.6
LOW_LOGPROB = -1.0
WEAK_PROBABILITY = 0.6
WEAK_NO_SPEECH = 0.3

#: Lines Whisper writes for silence, music and noise (from its training data's credits).
KNOWN_INVENTIONS = frozenset(
    {
        "you",
        "thank you",
        "thank you very much",
        "thanks",
        "thanks for watching",
        "thank you for watching",
        "thank you so much for watching",
        "please subscribe",
        "subscribe",
        "like and subscribe",
        "bye",
        "bye bye",
        "the end",
        "okay",
        "oh",
        "music",
        "applause",
        "laughter",
        "silence",
        "subtitles by the amara org community",
        "transcription by castingwords",
        "i'll see you next time",
        "see you next time",
    }
)


@dataclass(frozen=True)
class Verdict:
    """Whether to keep a segment, and if not, why (one of the rule names of the module)."""

    keep: bool
    reason: str | None = None


def normalized(text: str) -> str:
    """Lower-case words without punctuation, so "Thank you!" and "thank you." compare equal."""
    return " ".join(re.findall(r"[\w']+", text.lower().replace("♪", " music ")))


def compression_ratio(text: str) -> float:
    """Whisper's measure of a looping text: its UTF-8 length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def loop_run(words: Sequence[str]) -> tuple[int, int] | None:
    """``[start, end)`` of the first loop in ``words`` (normalized): one word `LOOP_REPEATS`
    times in a row, or a phrase of two or three words three times ("hello, hello, hello,
    hello"; "and the boat and the boat and the boat"); None without one."""
    for start in range(len(words)):
        for size, needed in ((1, LOOP_REPEATS), (2, 3), (3, 3)):
            phrase = words[start : start + size]
            if len(phrase) < size or not all(phrase):
                continue
            count = 1
            while words[start + count * size : start + (count + 1) * size] == phrase:
                count += 1
            if count >= needed:
                return start, start + count * size
    return None


def mean_logprob(probabilities: Sequence[float]) -> float | None:
    """Mean natural log of the word probabilities (None without words)."""
    if not probabilities:
        return None
    return sum(math.log(max(p, 1e-6)) for p in probabilities) / len(probabilities)


def judge(
    text: str,
    probabilities: Sequence[float],
    no_speech_prob: float,
    previous: str | None,
) -> Verdict:
    """Keep or drop one segment; ``previous`` is the text of the segment kept before it."""
    plain = normalized(text)
    if not plain:
        return Verdict(False, "empty")
    if previous is not None and plain == normalized(previous):
        return Verdict(False, "repeats the previous segment")
    if compression_ratio(text) > MAX_COMPRESSION or loop_run(plain.split()):
        return Verdict(False, "loops")
    logprob = mean_logprob(probabilities)
    if no_speech_prob > NO_SPEECH and (logprob is None or logprob < LOW_LOGPROB):
        return Verdict(False, "no speech")
    if plain in KNOWN_INVENTIONS:
        mean_p = sum(probabilities) / len(probabilities) if probabilities else 0.0
        if mean_p < WEAK_PROBABILITY or no_speech_prob > WEAK_NO_SPEECH:
            return Verdict(False, "known invention")
    return Verdict(True)
