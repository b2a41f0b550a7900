"""Choosing the frame worth looking at near each target time.

A black, blurred or repeated tile wastes a sheet cell and a vision call, so among the frames the
default mode reaches anyway within the quarter-interval window (the keyframe, the frames decoded
on the way to the target) the sharpest one that is neither black nor a near copy of the previous
pick is chosen. Only when nothing acceptable was decoded is more spent: up to ``RESCUE_FRAMES``
further frames after a black pick (a fade), then the next keyframe if it is inside the window (a
still scene). Every frame records why it was chosen (`FrameSelection`). At most three candidates
are held per target: the usual pick, the best one and the last one scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from media_analysis_dagster.media.frame_writing import fit_size

if TYPE_CHECKING:
    from av import VideoFrame
    from PIL import Image

    from media_analysis_dagster.media.frame_seeking import FrameCursor

#: A frame whose mean luma (0-255, full range) is below this is black.
BLACK_LUMA = 16.0
#: Two frames whose 16x16 gray thumbnails differ by less than this (mean, 0-255) are copies.
DUPLICATE_DIFF = 3.0
#: Another candidate replaces the usual pick only when this many times sharper.
SHARPER_RATIO = 1.25
#: Candidates scored per target while decoding through the window (plus the usual pick).
MAX_SCORED = 8
#: Extra frames decoded past a black pick (a fade in) when nothing acceptable was decoded.
RESCUE_FRAMES = 30
#: Longest side of the grayscale picture the scores are computed on.
ANALYSIS_SIDE = 320
_LAPLACIAN = (0, 1, 0, 1, -4, 1, 0, 1, 0)

Reason = Literal["nearest", "sharper", "not_black", "not_duplicate", "exact"]


@dataclass(frozen=True)
class FrameScore:
    """Scores of one decoded frame: Laplacian variance, mean luma, difference to the last pick."""

    time: float
    sharpness: float
    mean_luma: float
    difference: float | None  # None for the first pick

    @property
    def black(self) -> bool:
        return self.mean_luma < BLACK_LUMA

    @property
    def duplicate(self) -> bool:
        return self.difference is not None and self.difference < DUPLICATE_DIFF


@dataclass(frozen=True)
class FrameSelection:
    """Why this frame was written: ``nearest`` (the usual pick), ``sharper`` (another frame in the
    window was at least SHARPER_RATIO times sharper), ``not_black`` / ``not_duplicate`` (the usual
    pick was black / a copy of the previous pick), ``exact`` (accurate mode)."""

    reason: Reason
    candidates: int
    chosen: FrameScore
    nearest: FrameScore


@dataclass
class ScoredFrame:
    """A scored candidate: the frame is kept so the chosen one can be written."""

    frame: VideoFrame
    score: FrameScore
    thumb: Image.Image  # 16x16 gray, for the duplicate test of the next pick

    @property
    def acceptable(self) -> bool:
        return not (self.score.black or self.score.duplicate)


def score_frame(frame: VideoFrame, time: float, previous: Image.Image | None) -> ScoredFrame:
    """Sharpness (variance of a 4-neighbour Laplacian), mean luma and a 16x16 thumbnail of a
    small full-range grayscale of the frame; difference is to the previous pick's thumbnail.

    Pillow only: numpy's import alone would cost a keyframe-only extraction 15-40 %.
    """
    from PIL import Image, ImageChops, ImageFilter, ImageStat

    w, h = fit_size(frame.width, frame.height, ANALYSIS_SIDE)
    w, h = max(16, w), max(16, h)  # the 16x16 thumbnail needs as many pixels
    plane = frame.reformat(width=w, height=h, format="gray", interpolation="AREA").planes[0]
    gray = Image.frombuffer("L", (w, h), bytes(plane), "raw", "L", plane.line_size, 1)
    # The Laplacian is divided by 4 around 128 so that 8 bits hold it (|value| <= 1020); the
    # filter copies the border pixels unfiltered, so they are cropped off.
    kernel = ImageFilter.Kernel((3, 3), _LAPLACIAN, scale=4, offset=128)
    laplacian = gray.filter(kernel).crop((1, 1, w - 1, h - 1))
    thumb = gray.resize((16, 16), Image.Resampling.BOX)
    diff = None
    if previous is not None:
        diff = ImageStat.Stat(ImageChops.difference(thumb, previous)).mean[0]
    sharpness = ImageStat.Stat(laplacian).var[0] * 16
    score = FrameScore(time, sharpness, ImageStat.Stat(gray).mean[0], diff)
    return ScoredFrame(frame, score, thumb)


class FramePicker:
    """Scores frames of one target's window as the cursor decodes them and keeps the usual pick
    and the sharpest acceptable candidate (not black, not a copy of the previous pick)."""

    def __init__(
        self, target: float, tolerance: float, stride: int, previous: Image.Image | None
    ) -> None:
        self.low, self.high = target - tolerance, target + tolerance
        self.stride, self.previous = stride, previous
        self.default: ScoredFrame | None = None
        self.best: ScoredFrame | None = None
        self._recent: ScoredFrame | None = None  # the usual pick is often the last one scored
        self.scored, self._skipped, self._last = 0, stride, float("-inf")

    def offer(self, frame: VideoFrame, time: float) -> None:
        if not self.low - 1e-6 <= time <= self.high + 1e-6 or time <= self._last:
            return
        self._last, self._skipped = time, self._skipped + 1
        if self._skipped >= self.stride:
            self._skipped = 0
            self._consider(self._scored(frame, time))

    def _scored(self, frame: VideoFrame, time: float) -> ScoredFrame:
        for known in (self.default, self.best, self._recent):
            if known is not None and abs(known.score.time - time) < 1e-9:
                return known
        self.scored += 1
        self._recent = score_frame(frame, time, self.previous)
        return self._recent

    def _consider(self, c: ScoredFrame) -> None:
        if c.acceptable and (self.best is None or c.score.sharpness > self.best.score.sharpness):
            self.best = c

    def settle(self, frame: VideoFrame, time: float) -> None:
        """Record the frame the plain default mode would write."""
        self.default = self._scored(frame, time)
        self._consider(self.default)

    @property
    def needs_rescue(self) -> bool:
        return self.best is None

    @property
    def default_black(self) -> bool:
        return self.default is not None and self.default.score.black

    def choose(self) -> tuple[ScoredFrame, Reason]:
        d = self.default
        assert d is not None, "settle() first"
        best = self.best
        if best is None or best is d:
            return d, "nearest"
        if d.acceptable:
            sharper = best.score.sharpness >= SHARPER_RATIO * d.score.sharpness
            return (best, "sharper") if sharper else (d, "nearest")
        return best, "not_black" if d.score.black else "not_duplicate"


def pick_frame(
    cursor: FrameCursor, target: float, tolerance: float, fps: float, previous: Image.Image | None
) -> tuple[ScoredFrame, FrameSelection] | None:
    """Default mode with frame quality: the usual frame, or a better one from the window."""
    stride = max(1, math.ceil(tolerance * (fps or 30.0) / MAX_SCORED))
    picker = FramePicker(target, tolerance, stride, previous)
    cursor.observer = picker.offer
    try:
        frame = cursor.step(target, tolerance)
        if frame is None:
            return None
        picker.settle(frame, cursor.time_of(frame))
        if picker.needs_rescue and picker.default_black and cursor.live:  # a fade: scan on
            picker.stride = max(1, RESCUE_FRAMES // MAX_SCORED)
            cursor.decode_to(target + tolerance, max_frames=RESCUE_FRAMES)
        if picker.needs_rescue:  # a still scene or a long fade: the next keyframe may differ
            picker.stride = 1
            cursor.jump_to_next_keyframe(target + tolerance)
    finally:
        cursor.observer = None
    chosen, reason = picker.choose()
    assert picker.default is not None
    candidates = max(picker.scored, 1)
    return chosen, FrameSelection(reason, candidates, chosen.score, picker.default.score)


def exact_frame(
    cursor: FrameCursor, target: float, previous: Image.Image | None
) -> tuple[ScoredFrame, FrameSelection] | None:
    """Accurate mode: the frame shown at ``target``, scored but never replaced."""
    frame = cursor.step(target, 0.0)
    if frame is None:
        return None
    scored = score_frame(frame, cursor.time_of(frame), previous)
    return scored, FrameSelection("exact", 1, scored.score, scored.score)
