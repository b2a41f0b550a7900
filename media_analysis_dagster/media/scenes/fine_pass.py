"""The fine pass of scene detection: decode the keyframe intervals the keyframe pass did not
clear, judge their frames (`transitions.RunAnalyzer`) and put cuts on their exact frames — on
several threads.

FFmpeg's decoder releases the GIL, yet one decoder kept only 1.3 of 2 cores busy (its frames
are consumed in order, and thumbnails and analysis run between packets). So the intervals to
decode are split into contiguous *chunks* of about equal decoded length, one per thread, each
with its own demuxer and decoder. Every chunk demuxes from the start (reading packets costs
0.06 s per 10 minutes of 720p; no seek, so no container's seeking quirks matter) and decodes
only from its first keyframe.

Neighbouring uncleared intervals form a *run*, decoded as one stretch closed by the next
keyframe. A chunk boundary is put between runs where one is near; the runs on each side are
then independent, exactly as on one thread. When a run must be split (a video where nothing
can be cleared, such as the long-GOP fallback), the chunk before the boundary keyframe decodes
``OVERLAP`` seconds past it: transitions before the middle of the overlap are its own, later
ones the next chunk's, so every cut, fade and dissolve (at most ``max(DISSOLVE_WINDOWS)`` long)
is seen whole by one of them. Motion is counted once, split at the keyframe.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from media_analysis_dagster.media.probe import open_video
from media_analysis_dagster.media.scenes.decoding import (
    PassState,
    decode,
    is_key,
    packets,
    set_decoder,
)
from media_analysis_dagster.media.scenes.exact_cuts import exact_cuts
from media_analysis_dagster.media.scenes.keyframe_pass import COLOUR_CHANGE, DIM_LEVEL, Gop
from media_analysis_dagster.media.scenes.motion import (
    brightness,
    colour_histogram,
    histogram_change,
    thumbnail,
)
from media_analysis_dagster.media.scenes.progress import ChunkProgress, SceneProgress
from media_analysis_dagster.media.scenes.transitions import (
    DISSOLVE_WINDOWS,
    RunAnalyzer,
    Transition,
)

if TYPE_CHECKING:
    from av import Packet, VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: At most this many frames per second of video are analysed.
MAX_ANALYSIS_FPS = 60.0
#: Threads (each a decoder) for the fine pass: the machine's cores, at most this many.
MAX_WORKERS = 4
#: A chunk holds at least this many seconds of video to decode (fewer, shorter chunks otherwise).
MIN_CHUNK_SECONDS = 20.0
#: Seconds decoded past a boundary that splits a run (see the module docstring).
OVERLAP = 2 * max(DISSOLVE_WINDOWS) - 1.0
#: How many intervals a boundary may move to fall between runs.
BOUNDARY_SLACK = 2
#: An interval's decoding may stop once its run has been this long without a jump, a dark frame
#: or a blend (seconds) ...
QUIET_SECONDS = 1.0
#: ... checked at most this often (seconds of video).
EXIT_CHECK_SECONDS = 0.25

Motion = Callable[[float, float, float], None]


class _Run:
    """One stretch of decoded intervals, closed by the next keyframe, or earlier when nothing
    is left to find (`_Run.can_stop`)."""

    def __init__(self, state: PassState, start: float, motion: Motion) -> None:
        self.state, self.start = state, start
        self.stop: float | None = None
        self.analyzer = RunAnalyzer(state.threshold, motion)
        self.last: float | None = None
        self.gop: Gop | None = None  # the interval being decoded, and the one after it
        self.nxt: Gop | None = None
        self.last_check = -math.inf
        self.done = False

    def can_stop(self, t: float, thumb: np.ndarray) -> bool:
        """Whether the rest of the interval may be left undecoded after the frame at ``t``: the
        test that clears a whole interval in the keyframe pass, applied from this frame to the
        next keyframe. The frame has the colours of the next keyframe, neither is dim, no size
        spike comes after it, the encoder did not place the next keyframe (a jump cut between
        look-alikes), and the run has been quiet for ``QUIET_SECONDS`` (a transition is over
        and judged)."""
        gop, nxt = self.gop, self.nxt
        if gop is None or nxt is None or nxt.hist is None or gop.placed_end:
            return False
        if t < gop.start or t <= gop.last_spike + 1e-6 or t - self.last_check < EXIT_CHECK_SECONDS:
            return False  # a late frame of the interval before, or a spike still to come
        self.last_check = t
        return (
            self.analyzer.quiet(t, QUIET_SECONDS)
            and min(brightness(thumb), nxt.luma) >= DIM_LEVEL
            and histogram_change(colour_histogram(thumb), nxt.hist) < COLOUR_CHANGE
        )

    def take(self, frames: list[VideoFrame]) -> None:
        for frame in frames:
            self.state.decoded += 1
            t = self.state.time(frame.pts)
            self.state.end = max(self.state.end, t + 1 / self.state.fps)
            if t < self.start - 1e-6 or (self.stop is not None and t > self.stop + 1e-6):
                continue  # leading frames of an open GOP, or past the closing keyframe
            if self.last is not None and t - self.last < 1 / MAX_ANALYSIS_FPS - 1e-4:
                continue
            apart = 1 if self.last is None else self.state.frames_between(self.last, t)
            intra = bool(frame.key_frame) or frame.pict_type == 1  # AV_PICTURE_TYPE_I
            thumb = thumbnail(frame)
            self.analyzer.add(t, thumb, apart, intra)
            self.state.analyzed += 1
            self.last = t
            if self.can_stop(t, thumb):
                self.done = True
                return


def decode_all(
    container: InputContainer,
    stream: VideoStream,
    state: PassState,
    progress: SceneProgress | None = None,
) -> list[Transition]:
    """Every frame as one run: the full-decode reference the fast path is tested against."""
    run = _Run(state, -1e9, state.timeline.add)
    for packet in packets(container, stream):
        run.take(decode(stream, packet))
        if progress is not None and run.last is not None:
            progress.at(run.last)
    run.take(decode(stream, None))
    return run.analyzer.finish()


@dataclass(frozen=True)
class Chunk:
    """Intervals ``gops[first:stop]``; transitions kept in ``[keep_from, keep_to)`` and motion
    in ``[motion_from, motion_to)``. When the boundary at ``gops[stop]`` splits a run, the chunk
    decodes ``OVERLAP`` seconds past it."""

    first: int
    stop: int
    keep_from: float = -math.inf
    keep_to: float = math.inf
    motion_from: float = -math.inf
    motion_to: float = math.inf


def plan_chunks(gops: list[Gop], workers: int) -> list[Chunk]:
    """Split ``gops`` into at most ``workers`` chunks of about equal decoded length."""
    work = list(itertools.accumulate(g.end - g.start if g.reason and g.end else 0.0 for g in gops))
    total = work[-1] if work else 0.0
    n = max(1, min(workers, int(total // MIN_CHUNK_SECONDS)))
    bounds: list[int] = []
    for k in range(1, n):
        j = bisect.bisect_left(work, total * k / n) + 1
        near = [j + d for d in sorted(range(-BOUNDARY_SLACK, BOUNDARY_SLACK + 1), key=abs)]
        j = next((c for c in near if 0 < c < len(gops) and not _splits(gops, c)), j)
        if (bounds[-1] if bounds else 0) < j < len(gops):
            bounds.append(j)
    chunks: list[Chunk] = []
    starts = [0, *bounds]
    for a, b in zip(starts, [*bounds, len(gops)], strict=True):
        chunks.append(Chunk(a, b))
    for i, j in enumerate(bounds):
        key = gops[j].start
        middle = key + (OVERLAP / 2 if _splits(gops, j) else 1e-6)
        chunks[i] = replace(chunks[i], keep_to=middle, motion_to=key)
        chunks[i + 1] = replace(chunks[i + 1], keep_from=middle, motion_from=key)
    return chunks


def _splits(gops: list[Gop], j: int) -> bool:
    """Whether a boundary before ``gops[j]`` falls inside a run."""
    return bool(gops[j - 1].reason and gops[j].reason)


def fine_pass(
    path: str | Path,
    state: PassState,
    gops: list[Gop],
    workers: int | None = None,
    progress: SceneProgress | None = None,
) -> list[Transition]:
    """Transitions of the intervals of ``gops`` not cleared, decoded on ``workers`` threads
    (default: the cores, at most ``MAX_WORKERS``); adds to ``state``'s counters and timeline,
    and each thread's settled seconds to ``progress``."""
    cores = os.cpu_count() or 1
    chunks = plan_chunks(gops, workers or min(MAX_WORKERS, cores))
    threads = max(1, cores // len(chunks))
    lock = threading.Lock()
    counts = [progress.chunk(gops, c.first, c.stop) if progress else None for c in chunks]

    def one(chunk: Chunk, count: ChunkProgress | None) -> tuple[list[Transition], PassState]:
        def motion(start: float, end: float, value: float) -> None:
            if chunk.motion_from <= start < chunk.motion_to:
                with lock:
                    state.timeline.add(start, end, value)

        own = replace(state, decoded=0, analyzed=0)
        found = _decode_chunk(path, own, gops, chunk, motion, threads, count)
        if count is not None:
            count.finish()
        return found, own

    if len(chunks) == 1:
        results = [one(chunks[0], counts[0])]
    else:
        with ThreadPoolExecutor(len(chunks), thread_name_prefix="scenes") as pool:
            results = list(pool.map(one, chunks, counts))
    found: list[Transition] = []
    for part, own in results:
        found += part
        state.decoded += own.decoded
        state.analyzed += own.analyzed
        state.end = max(state.end, own.end)
    return found


def _whole_near_spikes(
    stream: VideoStream, packet: Packet, spikes: set[int], until: int | None
) -> int | None:
    """Decode every frame from a size-spike packet (a frame coded almost from scratch: a cut
    with no keyframe) up to the next frame shown after it, so the frames around the cut are
    all decoded once, instead of decoding the interval again in `exact_cuts`. The frames that
    follow it in decoding order and show before it are the ones nothing refers to."""
    pts = packet.pts
    if pts is None:
        return until
    if pts in spikes:
        stream.codec_context.skip_frame = "DEFAULT"
        return pts
    if until is not None and pts > until:
        stream.codec_context.skip_frame = "NONREF"
        return None
    return until


def _decode_chunk(
    path: str | Path,
    state: PassState,
    gops: list[Gop],
    chunk: Chunk,
    motion: Motion,
    threads: int,
    count: ChunkProgress | None = None,
) -> list[Transition]:
    index = {g.pts: i for i, g in enumerate(gops)}
    spikes = {pts for g in gops[chunk.first : chunk.stop + 1] for pts in g.spikes}
    whole_until: int | None = None  # decoding every frame up to this pts (see _whole_near_spikes)
    found: list[Transition] = []
    with open_video(path) as (container, stream):
        set_decoder(stream, skip=True, threads=threads)
        run: _Run | None = None
        i, until = -1, math.inf
        for packet in packets(container, stream):
            if is_key(packet):
                i = index.get(packet.pts or 0, i)
                if i < 0:
                    continue
                if i >= chunk.stop and run is None:
                    break
                if run is not None and not gops[i].reason:  # the keyframe that closes the run
                    run.take(decode(stream, packet) + decode(stream, None))
                    found += run.analyzer.finish()
                    stream.codec_context.flush_buffers()
                    run = None
                    if i >= chunk.stop:
                        break
                if gops[i].reason and i >= chunk.first:
                    if i >= chunk.stop:
                        until = min(until, gops[chunk.stop].start + OVERLAP)
                    run = run or _Run(state, gops[i].start, motion)
                    run.stop = gops[i + 1].start if i + 1 < len(gops) else None
                    run.gop, run.nxt = gops[i], gops[i + 1] if i + 1 < len(gops) else None
            if run is None:
                continue
            if packet.pts is not None and state.time(packet.pts) > until:
                break
            whole_until = _whole_near_spikes(stream, packet, spikes, whole_until)
            run.take(decode(stream, packet))
            if count is not None and run.last is not None:
                count.at(i, run.last)
            if run.done:  # the rest of this interval is left undecoded
                found += run.analyzer.finish()
                stream.codec_context.flush_buffers()
                if run.gop is not None and run.gop.motion is not None and run.last is not None:
                    motion(run.last, run.stop or run.last, run.gop.motion)
                run = None
        if run is not None:
            run.take(decode(stream, None))
            found += run.analyzer.finish()
        kept = [x for x in found if chunk.keep_from <= x.time < chunk.keep_to]
        return exact_cuts(container, stream, state, kept, gops)
