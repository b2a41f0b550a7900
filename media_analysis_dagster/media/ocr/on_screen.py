"""Text on screen across a video's frames: the same words on consecutive frames are one item.

A caption shown for ten seconds is read on every frame taken in that time, each reading a
little different (a letter lost to a busy background, a stray mark). Lines are matched to the
items seen on the previous frame by similarity of their text (case and spacing ignored), so
an item carries every time and box it was seen at, and a caption that comes back after other
frames is a new item.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from media_analysis_dagster.media.ocr.results import Box, OcrLine, OcrPage, OnScreenText, box_top

_SPACE = re.compile(r"\s+")


def _key(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _similarity(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() >= 0.5 else 0.0


@dataclass
class _Track:
    """An item being followed: its readings, times, boxes and confidences so far."""

    variants: Counter[str] = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)
    boxes: list[Box] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    key: str = ""
    last_frame: int = -1

    def add(self, line: OcrLine, when: float, frame: int) -> None:
        self.variants[line.text] += 1
        self.times.append(when)
        self.boxes.append(line.box)
        self.confidences.append(line.confidence)
        self.key, self.last_frame = _key(line.text), frame

    def item(self) -> OnScreenText:
        text = max(self.variants, key=lambda v: (self.variants[v], len(v)))
        mean = round(sum(self.confidences) / len(self.confidences), 4)
        times = tuple(self.times)
        return OnScreenText(text, times[0], times[-1], times, tuple(self.boxes), mean)


def dedupe_across_frames(
    per_frame: Sequence[tuple[float, OcrPage]],
    *,
    min_similarity: float = 0.8,
    max_missed: int = 0,
) -> list[OnScreenText]:
    """On-screen text of a video from (frame time, page read from it): a line seen on
    consecutive frames (``max_missed`` frames without it may pass) is one item with every
    time it was seen; readings at least ``min_similarity`` alike (difflib ratio) are the same
    words. Lines without a letter or digit are dropped. Items in order of first appearance."""
    done: list[_Track] = []
    tracks: list[_Track] = []
    for frame, (when, page) in enumerate(sorted(per_frame, key=lambda item: item[0])):
        still = [t for t in tracks if frame - t.last_frame - 1 <= max_missed]
        done += [t for t in tracks if t not in still]
        taken: set[int] = set()
        for line in page.lines:
            key = _key(line.text)
            if not any(char.isalnum() for char in key):
                continue
            scored = [(_similarity(key, t.key), i) for i, t in enumerate(still) if i not in taken]
            best, index = max(scored, default=(0.0, -1))
            if best < min_similarity:
                still.append(_Track())
                index = len(still) - 1
            taken.add(index)
            still[index].add(line, when, frame)
        tracks = still
    ordered = sorted(done + tracks, key=lambda t: (t.times[0], box_top(t.boxes[0])))
    return [track.item() for track in ordered]
