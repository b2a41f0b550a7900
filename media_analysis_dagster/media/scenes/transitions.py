"""Hard cuts, fades through black and cross-dissolves, judged from a run of thumbnails.

A *run* is a stretch of consecutive decoded frames (one or more keyframe intervals that the
coarse pass could not clear). `RunAnalyzer` is fed the run's thumbnails in order and reports:

- a **cut** where consecutive thumbnails differ by at least the threshold and by at least
  ``CUT_OVER_MOTION`` times the median difference around it, so fast camera moves are not cuts,
  and the darker picture is not the other dimmed (a step of a fast fade; a cut to black is).
  The median uses the 15 differences before the frame; in the first frames of a run, which has
  no past, the ones after it stand in (decided once they are known);
- a **fade** at the middle of a stretch darker than ``FADE_LEVEL`` (as PySceneDetect's
  ThresholdDetector, fade bias 0);
- a **dissolve** where, over a window of ``DISSOLVE_WINDOWS`` seconds, the picture changes by at
  least the threshold and every quarter point of the window is the matching blend of its two
  ends (a cut or motion is not a blend), with no cut inside and neither end a dimmed copy of
  the other (that is a fade); reported at the window's middle.
"""

from __future__ import annotations

import bisect
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from media_analysis_dagster.media.scenes.motion import brightness, mad

#: A fade is a stretch whose mean brightness (0-255) is below this (PySceneDetect's default).
FADE_LEVEL = 12.0
#: A hard cut must exceed this many times the median motion around it.
CUT_OVER_MOTION = 3.0
#: Differences remembered for that median.
MOTION_MEMORY = 15
#: Fewer past differences than this: the median waits for the following ones.
MIN_PAST = 5
#: A jump whose darker picture is the other dimmed by at least this gain is a step of a fast
#: fade, not a cut (a cut to or from black has a gain near 0).
MIN_FADE_GAIN = 0.1
#: Lengths (seconds) of the windows tested for a cross-dissolve.
DISSOLVE_WINDOWS = (0.5, 1.0, 2.0)
#: How far (fraction of the change across the window) a quarter point may be from the blend.
DISSOLVE_LINEARITY = 0.15
#: The dissolve test runs at most this many times per second of video.
DISSOLVE_CHECKS_PER_SECOND = 15.0


@dataclass(frozen=True)
class Transition:
    """A scene boundary: time of the first frame of the new scene (or the middle of a fade or
    dissolve), its strength (difference 0-255; 0 for fades) and its kind. For a cut, ``after``
    is the time of the frame it was compared with: frames between the two were not decoded."""

    time: float
    score: float
    kind: str  # "cut" | "fade" | "dissolve"
    after: float | None = None


@dataclass
class _Pending:
    time: float
    diff: float
    span: tuple[float, float, float]  # start, end, motion per frame: for the motion meter
    since: float | None  # the compared frame, when frames between were skipped
    pictures: tuple[np.ndarray, np.ndarray]  # before, after


class RunAnalyzer:
    """Judges one run; ``motion`` receives (start, end, value) for every difference that is not
    a cut."""

    def __init__(self, threshold: float, motion: Callable[[float, float, float], None]) -> None:
        self.threshold = threshold
        self.motion = motion
        self.found: list[Transition] = []
        self.recent: deque[float] = deque(maxlen=MOTION_MEMORY)
        self.pending: list[_Pending] = []
        self.seen = 0
        self.prev: tuple[float, np.ndarray] | None = None
        self.dark_since: float | None = None
        self.times: list[float] = []  # the last seconds of frames, for the dissolve test
        self.thumbs: list[np.ndarray] = []
        self.last_jump = -1e9
        self.last_check = -1e9
        self.last_event = -1e9  # the run's start, a jump, a dark frame or a blend
        self.blends: list[Transition] = []

    def add(self, t: float, thumb: np.ndarray, frames_apart: int = 1, intra: bool = False) -> None:
        """The next frame of the run (``frames_apart`` source frames after the previous one;
        ``intra``: coded without reference to earlier frames, so a cut there is on its frame)."""
        self._fade(t, thumb)
        diff = 0.0
        if self.prev is None:
            self.last_event = t
        else:
            diff = mad(thumb, self.prev[1])
            per_frame = diff / max(1, frames_apart)
            since = None if intra or frames_apart <= 1 else self.prev[0]
            item = _Pending(t, diff, (self.prev[0], t, per_frame), since, (self.prev[1], thumb))
            if self.seen < MIN_PAST:
                self.pending.append(item)
            else:
                self._decide(item, self.recent)
            self.recent.append(diff)
            self.seen += 1
            if self.seen == MOTION_MEMORY:
                self._settle()
        self.prev = (t, thumb)
        self._dissolve(t, thumb, diff)

    def quiet(self, t: float, seconds: float) -> bool:
        """Whether everything up to ``t`` is decided and nothing happened in the last
        ``seconds`` (no jump, dark frame or blend, nor the run's start)."""
        return not self.pending and t - self.last_event >= seconds

    def finish(self) -> list[Transition]:
        """Decide what is still open and return the run's transitions."""
        self._settle()
        return self.found + self._best_blends()

    def _decide(self, item: _Pending, around: deque[float] | list[float]) -> None:
        base = statistics.median(around) if around else 0.0
        if (
            item.diff >= self.threshold
            and item.diff >= CUT_OVER_MOTION * base
            and (_dimmed(*item.pictures, DISSOLVE_LINEARITY * item.diff) or 0.0) < MIN_FADE_GAIN
        ):
            self.found.append(Transition(item.time, item.diff, "cut", item.since))
        else:
            self.motion(*item.span)

    def _settle(self) -> None:
        """Decide the run's first differences with the ones after them as their context."""
        diffs = list(self.recent)
        for item in self.pending:
            others = list(diffs)
            others.remove(item.diff)
            self._decide(item, others)
        self.pending.clear()

    def _fade(self, t: float, thumb: np.ndarray) -> None:
        dark = brightness(thumb) < FADE_LEVEL
        if dark:
            self.last_event = t
        if dark and self.dark_since is None:
            self.dark_since = t
        elif not dark and self.dark_since is not None:
            # Middle of the dark stretch, as PySceneDetect (a black intro counts too).
            self.found.append(Transition((self.dark_since + t) / 2, 0.0, "fade"))
            self.dark_since = None

    def _dissolve(self, t: float, thumb: np.ndarray, diff: float) -> None:
        if diff >= self.threshold:
            self.last_jump = self.last_event = t
        self.times.append(t)
        self.thumbs.append(thumb)
        drop = bisect.bisect_left(self.times, t - max(DISSOLVE_WINDOWS) - 0.1)
        if drop > 64:
            del self.times[:drop], self.thumbs[:drop]
        if t - self.last_check < 1 / DISSOLVE_CHECKS_PER_SECOND - 1e-6:
            return
        self.last_check = t
        for length in DISSOLVE_WINDOWS:
            score = self._blend_score(t, length)
            if score is not None:
                self.blends.append(Transition(t - length / 2, score, "dissolve"))
                self.last_event = t

    def _at(self, t: float) -> int:
        """Index of the remembered frame nearest to ``t``."""
        i = bisect.bisect_left(self.times, t)
        if i > 0 and (i == len(self.times) or t - self.times[i - 1] <= self.times[i] - t):
            i -= 1
        return i

    def _blend_score(self, t: float, length: float) -> float | None:
        start = t - length
        if self.times[0] > start + 1e-6 or self.last_jump > start:
            return None  # not enough past, or a cut inside the window
        i0 = self._at(start)
        t0, a, b = self.times[i0], self.thumbs[i0], self.thumbs[-1]
        change = mad(a, b)
        if change < self.threshold or _dimmed(a, b, DISSOLVE_LINEARITY * change) is not None:
            return None  # too little change, or a fade: one end is the other, darker
        for q in (0.5, 0.25, 0.75):
            i = self._at(start + q * length)
            w = (self.times[i] - t0) / (t - t0)
            if mad(self.thumbs[i], (1 - w) * a + w * b) > DISSOLVE_LINEARITY * change:
                return None
        return change

    def _best_blends(self) -> list[Transition]:
        """One dissolve per cluster of overlapping candidates: the largest change."""
        best: list[Transition] = []
        last_time = -1e9
        for item in sorted(self.blends, key=lambda x: x.time):
            if best and item.time - last_time <= max(DISSOLVE_WINDOWS) / 2:
                if item.score > best[-1].score:
                    best[-1] = item
            else:
                best.append(item)
            last_time = item.time
        return best


def _dimmed(a: np.ndarray, b: np.ndarray, tolerance: float) -> float | None:
    """The gain (0-1) by which one picture is the other dimmed, as in a fade to or from black,
    if it is within ``tolerance``; else None."""
    dim, bright = (a, b) if brightness(a) < brightness(b) else (b, a)
    gain = float((dim * bright).sum() / max(float((bright * bright).sum()), 1e-6))
    return gain if mad(dim, gain * bright) <= tolerance else None


def merge(found: list[Transition], min_gap: float) -> list[Transition]:
    """One transition per ``min_gap`` seconds: a cut or fade over a dissolve, else the strongest."""
    rank = {"cut": 2, "fade": 2, "dissolve": 1}
    kept: list[Transition] = []
    for item in sorted(found, key=lambda x: x.time):
        if kept and item.time - kept[-1].time < min_gap:
            last = kept[-1]
            if (rank[item.kind], item.score) > (rank[last.kind], last.score):
                kept[-1] = item
            continue
        kept.append(item)
    return kept
