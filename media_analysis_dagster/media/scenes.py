"""Scene cuts, fades and motion without decoding every frame.

Decoding is the whole cost of scene detection (DESIGN §4), and most of a video needs none of it:

1. **Coarse pass.** Every packet is read (cheap: no decoding), but only each keyframe and the
   packet after it are decoded. Neighbouring keyframes are compared as 64x36 thumbnails. A
   keyframe interval is *cleared* (not decoded) when its two keyframes look alike, neither is
   dim, it is at most ``LONG_GOP_SECONDS`` long and none of its packets is a size spike (a frame
   the encoder had to code almost from scratch: a cut the keyframes do not show). Encoders put
   keyframes at most cuts (x264's ``scenecut``), so a cut usually ends an interval whose ends
   differ. The keyframe and the frame after it give one motion sample per interval.
2. **Fine pass.** The packets are read again and only the intervals not cleared are decoded
   (runs of neighbouring ones together, each closed by the next keyframe), every frame, so a
   hard cut is placed on its exact frame; fades and dissolves are judged on the same frames
   (`transitions.RunAnalyzer`). The last interval is always decoded (nothing follows it).
   A long interval (fixed long GOPs, or no keyframe near cuts) is decoded with non-reference
   frames skipped: that is the full-decode fallback, and a cut there lands on the first decoded
   frame of the new scene (a frame or two late).

Bounds (per video): at most every frame once plus each keyframe and its following frame twice
are decoded; at most ``MAX_ANALYSIS_FPS`` thumbnails per second of video are analysed in the
fine pass (plus two per keyframe); memory holds one decoded frame, the thumbnails of the last
``max(DISSOLVE_WINDOWS)`` seconds of a run, and a small record per keyframe interval.
What the coarse pass cannot see: a cut to a scene and back to a look-alike of the first within
one keyframe interval when no packet spikes (both ends then look alike), and a fade through
black between look-alike pictures inside one interval with no dim keyframe.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.motion import (
    Timeline,
    brightness,
    colour_change,
    mad,
    thumbnail,
)
from media_analysis_dagster.media.probe import open_video, stream_start
from media_analysis_dagster.media.transitions import FADE_LEVEL, RunAnalyzer, Transition, merge

if TYPE_CHECKING:
    from av import Packet, VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: Keyframes whose colour histograms differ by less than this share: same scene (`colour_change`).
COLOUR_CHANGE = 0.25
#: A keyframe darker than ``FADE_LEVEL``, or darker than this and than ``DIM_DROP`` times its
#: neighbour, may be inside a fade: the interval between them is decoded.
DIM_LEVEL = 2 * FADE_LEVEL
DIM_DROP = 0.6
#: An interval shorter than this share of the longest one ends at a keyframe the encoder placed
#: itself (x264's scenecut): decoded, since that is where cuts are.
PLACED_SHARE = 0.9
#: A packet this many times larger than each of the (up to 15) before it in its interval is a
#: spike: a frame coded almost from scratch, a cut the keyframes may not show.
SPIKE_RATIO = 4.0
#: Keyframe intervals longer than this (seconds) are always decoded (the full-decode fallback).
LONG_GOP_SECONDS = 10.5
#: At most this many frames per second of video are analysed in the fine pass.
MAX_ANALYSIS_FPS = 60.0
TIMELINE_POINTS = 200


@dataclass
class SceneMotionResult:
    """Transitions (time of the first frame of each new scene, or the middle of a fade or
    dissolve), their strengths and kinds, a motion summary and what the analysis cost."""

    cut_times: list[float]
    scores: list[float]
    mean_motion: float
    motion_timeline: list[tuple[float, float]]
    frames_analyzed: int
    analysis_fps: float
    method: str
    cut_kinds: list[str] = field(default_factory=list)
    frames_decoded: int = 0
    gops: int = 0
    gops_decoded: int = 0


@dataclass
class _Gop:
    """One keyframe interval as the coarse pass saw it."""

    pts: int
    start: float
    end: float | None = None
    packets: int = 1
    spike: bool = False
    key: np.ndarray | None = None
    luma: float = 0.0
    change: float | None = None
    dim: bool = False
    motion: float | None = None
    reason: str = ""  # why it is decoded in the fine pass; "" = cleared


@dataclass
class _Pass:
    """Shared state of one detection: stream facts and counters."""

    start: float
    fps: float
    threshold: float
    timeline: Timeline = field(default_factory=lambda: Timeline(TIMELINE_POINTS))
    decoded: int = 0
    analyzed: int = 0
    end: float = 0.0

    def time(self, pts: int, stream: VideoStream) -> float:
        return float(pts * stream.time_base) - self.start

    def frames_between(self, a: float, b: float) -> int:
        return max(1, round((b - a) * self.fps))


def _decode(stream: VideoStream, packet: Packet | None) -> list[VideoFrame]:
    """Frames out of the decoder after ``packet`` (``None`` drains it); a damaged packet gives
    none (the decoder recovers at the next keyframe)."""
    import av

    try:
        return [f for f in stream.codec_context.decode(packet) if f.pts is not None]
    except av.error.InvalidDataError:
        return []


def _packets(container: InputContainer, stream: VideoStream) -> Iterator[Packet]:
    import av

    try:
        for packet in container.demux(stream):
            if packet.size:
                yield packet
    except av.error.FFmpegError:
        return


def _is_key(packet: Packet) -> bool:
    return bool(packet.is_keyframe) and packet.pts is not None


def _close(gop: _Gop, nxt: _Gop, state: _Pass) -> None:
    """Compare an interval's keyframe with the next one, then forget its thumbnail."""
    gop.end = nxt.start
    if gop.key is not None and nxt.key is not None:
        gop.change = colour_change(gop.key, nxt.key)
        dark, bright = sorted((gop.luma, nxt.luma))
        gop.dim = dark < FADE_LEVEL or (dark < DIM_LEVEL and dark < DIM_DROP * bright)
        if gop.motion is None:  # a one-frame interval: the keyframes are neighbours
            gop.motion = mad(gop.key, nxt.key) / state.frames_between(gop.start, gop.end)
    gop.key = None


def _plan(gops: list[_Gop]) -> None:
    """Say which intervals the fine pass decodes, and why (the rest are cleared)."""
    longest = max((g.packets for g in gops[:-1]), default=0)
    for gop in gops[:-1]:
        assert gop.end is not None
        if gop.change is None:
            gop.reason = "keyframe not decoded"
        elif gop.end - gop.start > LONG_GOP_SECONDS:
            gop.reason = "long"
        elif gop.dim:
            gop.reason = "dim"
        elif gop.spike:
            gop.reason = "spike"
        elif gop.packets < PLACED_SHARE * longest:
            gop.reason = "placed keyframe"
        elif gop.change >= COLOUR_CHANGE:
            gop.reason = "colour change"
    if gops:
        gops[-1].reason = "last"


def _coarse(container: InputContainer, stream: VideoStream, state: _Pass) -> list[_Gop]:
    """Read every packet, decode each keyframe and the packet after it, clear intervals."""
    gops: list[_Gop] = []
    expect: dict[int, tuple[int, str]] = {}  # pts -> (interval, role)
    sizes: deque[int] = deque(maxlen=15)

    def take(frames: list[VideoFrame]) -> None:
        for frame in frames:
            state.decoded += 1
            i, role = expect.pop(frame.pts, (-1, ""))
            if i < 0:
                continue
            gop, thumb = gops[i], thumbnail(frame)
            state.analyzed += 1
            t = state.time(frame.pts, stream)
            if role == "key":
                gop.key, gop.luma = thumb, brightness(thumb)
                if i > 0 and gops[i - 1].end is None:
                    _close(gops[i - 1], gop, state)
            elif gop.key is not None and t > gop.start:
                gop.motion = mad(gop.key, thumb) / state.frames_between(gop.start, t)

    send_next = False
    for packet in _packets(container, stream):
        if packet.pts is not None:
            dur = packet.duration or 0
            state.end = max(state.end, state.time(packet.pts + dur, stream))
        if _is_key(packet):
            assert packet.pts is not None
            gops.append(_Gop(packet.pts, state.time(packet.pts, stream)))
            expect[packet.pts] = (len(gops) - 1, "key")
            sizes.clear()
            send_next = True
            take(_decode(stream, packet))
            continue
        if not gops:
            continue  # before the first keyframe: not decodable on its own
        gop = gops[-1]
        gop.packets += 1
        if len(sizes) >= 3:
            gop.spike |= packet.size >= SPIKE_RATIO * max(sizes)
        sizes.append(packet.size)
        if send_next and packet.pts is not None:
            expect[packet.pts] = (len(gops) - 1, "sample")
            take(_decode(stream, packet))
        send_next = False
    take(_decode(stream, None))
    for gop, nxt in zip(gops, gops[1:], strict=False):
        if gop.end is None:  # the next keyframe did not decode
            gop.end, gop.key = nxt.start, None
    if gops:
        gops[-1].end, gops[-1].key = state.end, None
    _plan(gops)
    return gops


class _Run:
    """One stretch of decoded intervals in the fine pass, closed by the next keyframe."""

    def __init__(self, state: _Pass, start: float, stop: float | None) -> None:
        self.state, self.start, self.stop = state, start, stop
        self.analyzer = RunAnalyzer(state.threshold, state.timeline.add)
        self.last: float | None = None

    def take(self, frames: list[VideoFrame], stream: VideoStream) -> None:
        for frame in frames:
            self.state.decoded += 1
            t = self.state.time(frame.pts, stream)
            self.state.end = max(self.state.end, t + 1 / self.state.fps)
            if t < self.start - 1e-6 or (self.stop is not None and t > self.stop + 1e-6):
                continue  # leading frames of an open GOP, or past the closing keyframe
            if self.last is not None and t - self.last < 1 / MAX_ANALYSIS_FPS - 1e-4:
                continue
            apart = 1 if self.last is None else self.state.frames_between(self.last, t)
            intra = bool(frame.key_frame) or frame.pict_type == 1  # AV_PICTURE_TYPE_I
            self.analyzer.add(t, thumbnail(frame), apart, intra)
            self.state.analyzed += 1
            self.last = t


def _fine(
    container: InputContainer, stream: VideoStream, state: _Pass, gops: list[_Gop] | None
) -> list[Transition]:
    """Decode the intervals the coarse pass did not clear (all of them when ``gops`` is None)."""
    found: list[Transition] = []
    run: _Run | None = _Run(state, -1e9, None) if gops is None else None
    ctx = stream.codec_context
    i = -1
    for packet in _packets(container, stream):
        if gops is not None and _is_key(packet):
            i += 1
            gop = gops[min(i, len(gops) - 1)]
            if run is not None and not gop.reason:  # the keyframe that closes the run
                run.take(_decode(stream, packet) + _decode(stream, None), stream)
                found += run.analyzer.finish()
                ctx.flush_buffers()
                run = None
            if gop.reason:
                if run is None:
                    run = _Run(state, gop.start, None)
                run.stop = None if i + 1 == len(gops) else gops[i + 1].start
        if run is not None and (gops is None or i >= 0):
            run.take(_decode(stream, packet), stream)
    if run is not None:
        run.take(_decode(stream, None), stream)
        found += run.analyzer.finish()
    return found


def _refine(
    container: InputContainer, stream: VideoStream, state: _Pass, cuts: list[Transition], key: int
) -> list[Transition]:
    """Put cuts found between two frames that were not neighbours (non-reference frames were
    skipped) on their exact frames: decode their interval again from the keyframe at ``key``
    up to the last cut, the skipped frames between each pair included, and take the first
    one closer to the new scene than to the old."""
    ctx = stream.codec_context
    container.seek(key, stream=stream, backward=True)
    seen: dict[float, np.ndarray] = {}
    last = max(c.time for c in cuts)

    def wanted(t: float) -> bool:
        return any(c.after is not None and c.after - 1e-4 < t < c.time + 1e-4 for c in cuts)

    for packet in _packets(container, stream):
        if packet.pts is not None:
            ctx.skip_frame = "DEFAULT" if wanted(state.time(packet.pts, stream)) else "NONREF"
        frames = _decode(stream, packet)
        for frame in frames:
            state.decoded += 1
            t = state.time(frame.pts, stream)
            if wanted(t):
                seen[round(t, 4)] = thumbnail(frame)
                state.analyzed += 1
        if any(t >= last - 1e-4 for t in (state.time(f.pts, stream) for f in frames)):
            break
    ctx.skip_frame = "NONREF"
    return [_closest(c, seen) for c in cuts]


def _closest(cut: Transition, seen: dict[float, np.ndarray]) -> Transition:
    assert cut.after is not None
    old, new = seen.get(round(cut.after, 4)), seen.get(round(cut.time, 4))
    if old is None or new is None:
        return cut
    for t in sorted(t for t in seen if cut.after < t < cut.time):
        if mad(seen[t], new) < mad(seen[t], old):
            return Transition(t, cut.score, cut.kind)
    return Transition(cut.time, cut.score, cut.kind)


def _exact(
    container: InputContainer, stream: VideoStream, state: _Pass, found: list[Transition],
    gops: list[_Gop],
) -> list[Transition]:
    """``found`` with `_refine`d cuts where frames before them were skipped (not in long
    intervals: there the fallback's cost bound wins over the exact frame)."""
    starts = [g.start for g in gops]
    by_gop: dict[int, list[Transition]] = {}
    kept: list[Transition] = []
    for x in found:
        i = bisect.bisect_right(starts, x.after) - 1 if x.after is not None else -1
        if x.kind == "cut" and i >= 0 and gops[i].reason != "long":
            by_gop.setdefault(i, []).append(x)
        else:
            kept.append(x)
    for i, cuts in by_gop.items():
        kept += _refine(container, stream, state, cuts, gops[i].pts)
    return kept


def _fast_decoder(stream: VideoStream, *, skip: bool) -> None:
    """Frame threads; with ``skip``, no deblocking (invisible at 64x36, a third of H.264's
    decoding time) and no frames that nothing refers to (B-frames mostly: a third to a half)."""
    stream.thread_type = "AUTO"
    if skip:
        stream.codec_context.options = {"skip_loop_filter": "all"}
        stream.codec_context.skip_frame = "NONREF"


def detect_scenes_and_motion(
    path: str | Path,
    *,
    threshold: float = 20.0,
    min_scene_len: float = 0.5,
    full_decode: bool = False,
) -> SceneMotionResult:
    """Transitions and motion of the video at ``path``; ``threshold`` is the mean absolute RGB
    difference (0-255) between consecutive 64x36 thumbnails that counts as a hard cut.

    ``full_decode`` decodes every frame instead of clearing keyframe intervals first (the
    reference the fast path is tested against; several times slower).
    """
    with open_video(path) as (container, stream):
        _fast_decoder(stream, skip=not full_decode)
        rate = stream.guessed_rate or stream.average_rate
        state = _Pass(stream_start(stream), float(rate) if rate else 25.0, threshold)
        gops = None if full_decode else _coarse(container, stream, state)
    if gops is not None and not gops:
        gops = None  # no keyframe flags at all: decode everything
    if gops is not None:
        for gop in gops:
            if not gop.reason and gop.end is not None and gop.motion is not None:
                state.timeline.add(gop.start, gop.end, gop.motion)
    with open_video(path) as (container, stream):
        _fast_decoder(stream, skip=gops is not None)
        found = _fine(container, stream, state, gops)
        if gops is not None:
            found = _exact(container, stream, state, found, gops)
    if state.analyzed == 0:
        raise CorruptMediaError(f"The video {Path(path).name} has no decodable frame.")
    kept = merge(found, min_scene_len)
    return SceneMotionResult(
        cut_times=[round(x.time, 3) for x in kept],
        scores=[round(x.score, 2) for x in kept],
        mean_motion=state.timeline.mean(),
        motion_timeline=state.timeline.points(),
        frames_analyzed=state.analyzed,
        analysis_fps=state.analyzed / state.end if state.end > 0 else 0.0,
        method="pyav-full-64x36" if gops is None else "pyav-keyframes-64x36",
        cut_kinds=[x.kind for x in kept],
        frames_decoded=state.decoded,
        gops=len(gops or []),
        gops_decoded=sum(1 for g in gops or [] if g.reason),
    )
