"""How far scene detection is, in seconds of the video settled, for ``on_progress(done, total)``.

A second of video is settled once nothing more will be decoded for it: at once for the keyframe
intervals the keyframe pass clears, and for the others as the fine pass's threads decode
through them (an interval whose decoding stops early counts as settled when its thread moves
on). The keyframe pass itself reads every packet but decodes only keyframes, a few per cent of
the time, so it reports nothing until it has cleared what it can. Each thread keeps its own
count and the callback hears their sum, so nothing is locked per frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from media_analysis_dagster.media.scenes.keyframe_pass import Gop

OnProgress = Callable[[float, float], None]
#: A thread tells again once it has settled this many more seconds (keeps the calls cheap).
STEP_S = 0.5


class SceneProgress:
    """Seconds settled: ``settled`` (cleared, or the full decode's position) plus each fine-pass
    chunk's own count."""

    def __init__(self, on_progress: OnProgress | None, total: float = 0.0) -> None:
        self.on_progress, self.total = on_progress, max(0.0, total)
        self.settled = 0.0
        self.chunks: list[float] = []
        self.told = -STEP_S

    def tell(self) -> None:
        if self.on_progress is None:
            return
        done = self.settled + sum(self.chunks)
        self.on_progress(min(done, self.total), self.total)

    def planned(self, gops: Sequence[Gop], end: float) -> None:
        """The keyframe pass is over: the intervals it cleared are settled."""
        self.total = max(self.total if end <= 0 else end, 0.0)
        self.settled = sum(g.end - g.start for g in gops if not g.reason and g.end is not None)
        self.tell()

    def at(self, t: float) -> None:
        """The full decode reached ``t`` seconds."""
        if t - self.told >= STEP_S:
            self.told = self.settled = t
            self.tell()

    def chunk(self, gops: Sequence[Gop], first: int, stop: int) -> ChunkProgress:
        """The count of one fine-pass chunk, ``gops[first:stop]``."""
        self.chunks.append(0.0)
        return ChunkProgress(self, len(self.chunks) - 1, gops, first, stop)

    def finished(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.total, self.total)


class ChunkProgress:
    """Seconds one fine-pass thread has settled of the intervals it decodes."""

    def __init__(
        self, owner: SceneProgress, slot: int, gops: Sequence[Gop], first: int, stop: int
    ) -> None:
        self.owner, self.slot, self.gops, self.first = owner, slot, gops, first
        self.lengths = [
            g.end - g.start if g.reason and g.end is not None else 0.0 for g in gops[first:stop]
        ]
        self.before = [0.0, *itertools.accumulate(self.lengths)]  # settled before interval k
        self.done = 0.0

    def at(self, index: int, t: float) -> None:
        """The thread analysed the frame at ``t`` seconds of interval ``gops[index]``."""
        k = index - self.first
        if k < 0:
            return
        if k >= len(self.lengths):
            self.finish()
            return
        inside = min(max(t - self.gops[index].start, 0.0), self.lengths[k])
        done = self.before[k] + inside
        if done - self.done >= STEP_S:
            self.done = self.owner.chunks[self.slot] = done
            self.owner.tell()

    def finish(self) -> None:
        if self.done < self.before[-1]:
            self.done = self.owner.chunks[self.slot] = self.before[-1]
            self.owner.tell()
