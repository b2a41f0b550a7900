"""SubRip (.srt) and WebVTT (.vtt) subtitles from a transcript.

Cues follow common subtitle practice: at most two lines of 42 characters and 7 seconds each.
A Whisper segment that is longer is split at word boundaries using the word times, so every
cue is shown while its words are spoken; without word times a segment's time is shared out in
proportion to characters. Cues never overlap and always last a positive time, which players and
validators require. Works on anything shaped like ``transcribe.Transcript`` (``segments`` with
``id``/``start``/``end``/``text``; ``words`` with ``segment``/``start``/``end``/``word``).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

MAX_CHARS = 42
MAX_LINES = 2
MAX_CUE_S = 7.0
MIN_CUE_S = 0.3
#: Languages written without spaces between words (faster-whisper's own list).
UNSPACED = frozenset({"zh", "ja", "th", "lo", "my", "yue"})


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]


def wrap(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Lines of at most ``max_chars`` (a longer single word stays whole); two lines are
    balanced, as subtitle style guides ask, rather than a full line and a stub."""
    words = text.split()
    if len(" ".join(words)) <= max_chars:
        return [" ".join(words)] if words else []
    greedy = textwrap.wrap(
        " ".join(words), max_chars, break_long_words=False, break_on_hyphens=False
    )
    if len(greedy) != 2:
        return greedy
    splits = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    first, second = min(splits, key=lambda s: max(len(s[0]), len(s[1])))
    return [first, second]


def _fits(text: str) -> bool:
    return len(wrap(text)) <= MAX_LINES


def _good_break(words: list[Any], j: int) -> bool:
    """Whether a cue may end after ``words[j - 1]``: a clause ends or the speaker pauses."""
    if j == len(words):
        return True
    pause = words[j].start - words[j - 1].end
    return words[j - 1].word.endswith((".", ",", "?", "!", ";", ":")) or pause >= 0.5


def _word_cues(words: list[Any], sep: str = " ") -> list[Cue]:
    """Fewest cues that fit; among those, fewest breaks inside a clause, then even lengths.

    A small dynamic programme over word boundaries (a segment has tens of words), because a
    greedy fill leaves one-word orphans such as a lone "sentence" cue.
    """
    room = MAX_CHARS * MAX_LINES
    # best[j] = (cues, breaks inside a clause, squared slack, start of the last cue) for the
    # first j words; a lone word always fits, so every prefix has a solution.
    best: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)]
    for j in range(1, len(words) + 1):
        options = []
        for i in range(j - 1, -1, -1):
            text = sep.join(w.word for w in words[i:j])
            too_long = words[j - 1].end - words[i].start > MAX_CUE_S
            if j - i > 1 and (too_long or not _fits(text)):
                break  # starting earlier only makes the cue longer
            count, breaks, slack, _ = best[i]
            bad = not _good_break(words, j)
            options.append((count + 1, breaks + bad, slack + (room - len(text)) ** 2, i))
        best.append(min(options))
    bounds, j = [], len(words)
    while j > 0:
        bounds.append((best[j][3], j))
        j = best[j][3]
    return [
        Cue(words[i].start, words[j - 1].end, tuple(wrap(sep.join(w.word for w in words[i:j]))))
        for i, j in reversed(bounds)
    ]


def _text_cues(start: float, end: float, text: str) -> list[Cue]:
    lines = wrap(text)
    groups = [lines[i : i + MAX_LINES] for i in range(0, len(lines), MAX_LINES)]
    total = sum(len(" ".join(g)) for g in groups) or 1
    cues, t = [], start
    for group in groups:
        share = (end - start) * len(" ".join(group)) / total
        cues.append(Cue(t, t + share, tuple(group)))
        t += share
    return cues


def cues(transcript: Any) -> list[Cue]:
    """The transcript's cues in time order, with overlaps and zero lengths repaired."""
    by_segment: dict[int, list[Any]] = {}
    for word in transcript.words:
        by_segment.setdefault(word.segment, []).append(word)
    sep = "" if getattr(transcript, "language", "") in UNSPACED else " "
    raw: list[Cue] = []
    for seg in transcript.segments:
        seg_words = by_segment.get(seg.id)
        if seg_words:
            raw.extend(_word_cues(seg_words, sep))
        else:
            raw.extend(_text_cues(seg.start, seg.end, seg.text))
    raw = [c for c in raw if c.lines]
    limit = float(getattr(transcript, "duration", 0.0) or 0.0)
    fixed: list[Cue] = []
    for i, cue in enumerate(raw):
        start = max(cue.start, fixed[-1].end if fixed else 0.0)
        end = max(cue.end, start + MIN_CUE_S)
        if i + 1 < len(raw):
            end = min(end, max(raw[i + 1].start, start + 0.001))
        elif limit > start:
            end = min(end, limit)
        fixed.append(Cue(round(start, 3), round(end, 3), cue.lines))
    return fixed


def _stamp(seconds: float, sep: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def to_srt(transcript: Any) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``, a blank line after each."""
    blocks = []
    for n, cue in enumerate(cues(transcript), start=1):
        text = "\n".join(line.replace("-->", "->") for line in cue.lines)
        blocks.append(f"{n}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{text}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Any) -> str:
    """WebVTT text: the ``WEBVTT`` header, numbered cues, ``HH:MM:SS.mmm``, escaped text."""
    blocks = ["WEBVTT\n"]
    for n, cue in enumerate(cues(transcript), start=1):
        text = "\n".join(
            line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            for line in cue.lines
        )
        blocks.append(f"{n}\n{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{text}\n")
    return "\n".join(blocks)
