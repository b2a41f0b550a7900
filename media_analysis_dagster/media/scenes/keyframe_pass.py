"""The coarse pass of scene detection: read every packet, decode only keyframes, and say which
keyframe intervals (GOPs) may hold a transition.

Each keyframe and the packet after it are decoded (the second gives a motion sample); every
other packet is only measured. An interval is *cleared* (left undecoded) unless one of these
holds, checked in this order:

- a keyframe did not decode;
- it is longer than ``LONG_GOP_SECONDS``: too little is seen of it (fixed long GOPs; the fine
  pass then decodes it as the full-decode fallback);
- a keyframe at either end is black, or dim (darker than the other end) and not brightening
  away from the interval (a fade's dark stretch may be in it);
- a packet in it is a size spike: a frame coded almost from scratch, i.e. a cut that the
  keyframes do not show (a cut away and back, or no keyframe at the cut);
- it is clearly shorter than the stream's longest interval, so the encoder placed the next
  keyframe itself: x264's ``scenecut`` does so on the first frame of a new scene;
- the colour histograms of its two keyframes differ (`motion.colour_change`; a higher level
  when the encoder places keyframes), or, for an interval of one or two frames, their
  pictures do (`motion.mad`).

Colour histograms rather than pixels, because keyframes are seconds apart and a camera pan or a
zoom moves every pixel without changing the scene.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from media_analysis_dagster.media.scenes.decoding import PassState, decode, is_key, packets
from media_analysis_dagster.media.scenes.motion import (
    brightness,
    colour_change,
    colour_histogram,
    mad,
    thumbnail,
)
from media_analysis_dagster.media.scenes.transitions import FADE_LEVEL

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: Keyframe intervals longer than this (seconds) are always decoded: the full-decode fallback.
#: x264's default maximum interval, 250 frames, is shorter at 24 fps and up.
LONG_GOP_SECONDS = 10.5
#: A keyframe darker than ``FADE_LEVEL``, or darker than ``DIM_LEVEL`` and than ``DIM_DROP``
#: times the keyframe at the other end, may be in a fade.
DIM_LEVEL = 2 * FADE_LEVEL
DIM_DROP = 0.6
#: A packet this many times larger than each of the (up to ``SPIKE_MEMORY``) packets before it
#: in its interval is a spike.
SPIKE_RATIO = 4.0
SPIKE_MEMORY = 15
#: An interval with fewer packets than this share of the longest one ends at a placed keyframe.
PLACED_SHARE = 0.9
#: Keyframes whose colour histograms differ in more than this share of pixels: another scene.
#: When the encoder places keyframes itself (some intervals are short), cuts end intervals or
#: spike, and the colour test only has to catch gradual transitions: a higher level then
#: spares intervals where the camera pans across a varied scene.
COLOUR_CHANGE = 0.25
COLOUR_CHANGE_PLACING = 0.5
#: Neighbouring keyframes (all-intra streams) differing by this share of the cut threshold.
NEIGHBOUR_SHARE = 0.5


@dataclass(eq=False, slots=True)
class Gop:
    """One keyframe interval as the coarse pass saw it; ``reason`` says why the fine pass must
    decode it ("" = cleared). The keyframe's thumbnail is dropped once compared, but its colour
    histogram (``hist``), brightness, the time of the last size spike and whether the encoder
    placed the next keyframe stay: the fine pass stops decoding an interval early with them."""

    pts: int
    start: float
    end: float | None = None
    packets: int = 1
    spike: bool = False
    last_spike: float = -math.inf
    spikes: list[int] = field(default_factory=list)  # pts of the spike packets
    key: np.ndarray | None = None
    hist: np.ndarray | None = None
    luma: float = 0.0
    sample_luma: float | None = None
    change: float | None = None
    diff: float = 0.0
    motion: float | None = None
    reason: str = ""
    placed_end: bool = False

    def fading(self) -> int:
        """+1 if the picture brightens just after the keyframe, -1 if it darkens, else 0."""
        if self.sample_luma is None:
            return 0
        delta = self.sample_luma - self.luma
        return 0 if abs(delta) <= 0.02 * self.luma + 0.5 else (1 if delta > 0 else -1)


def _dim(gop: Gop, other: Gop) -> bool:
    return gop.luma < DIM_LEVEL and gop.luma < DIM_DROP * other.luma


def _close(gop: Gop, nxt: Gop, state: PassState) -> None:
    """Compare an interval's keyframe with the next one, then forget its thumbnail."""
    gop.end = nxt.start
    if gop.key is not None and nxt.key is not None:
        gop.change = colour_change(gop.key, nxt.key)
        gop.diff = mad(gop.key, nxt.key)
        if gop.motion is None:  # no frame decoded between: the keyframes are the sample
            gop.motion = gop.diff / state.frames_between(gop.start, gop.end)
    gop.key = None


def _fade_inside(gop: Gop, nxt: Gop) -> bool:
    """Whether a dark stretch may lie between two keyframes: one is black, or one is dim and
    fading towards the interval (a keyframe that brightens has its dark stretch before it)."""
    if min(gop.luma, nxt.luma) < FADE_LEVEL:
        return True
    return (_dim(gop, nxt) and gop.fading() <= 0) or (_dim(nxt, gop) and nxt.fading() >= 0)


def plan(gops: list[Gop], threshold: float) -> None:
    """Set each interval's ``reason`` (see the module docstring); the last is always decoded."""
    longest = max((g.packets for g in gops[:-1]), default=0)
    placing = any(g.packets < PLACED_SHARE * longest for g in gops[:-1])
    colour_change_level = COLOUR_CHANGE_PLACING if placing else COLOUR_CHANGE
    for gop, nxt in itertools.pairwise(gops):
        assert gop.end is not None
        gop.placed_end = gop.packets < PLACED_SHARE * longest
        if gop.change is None:
            gop.reason = "keyframe not decoded"
        elif gop.end - gop.start > LONG_GOP_SECONDS:
            gop.reason = "long"
        elif _fade_inside(gop, nxt):
            gop.reason = "dim"
        elif gop.spike:
            gop.reason = "spike"
        elif gop.placed_end:
            gop.reason = "placed keyframe"
        elif gop.change >= colour_change_level:
            gop.reason = "colour change"
        elif gop.packets <= 2 and gop.diff >= NEIGHBOUR_SHARE * threshold:
            gop.reason = "change"
    if gops:
        gops[-1].reason = "last"


def coarse_pass(container: InputContainer, stream: VideoStream, state: PassState) -> list[Gop]:
    """Read every packet, decode each keyframe and the packet after it, `plan` the intervals."""
    gops: list[Gop] = []
    expect: dict[int, tuple[int, str]] = {}  # pts -> (interval, "key" | "sample")
    sizes: deque[int] = deque(maxlen=SPIKE_MEMORY)

    def take(frames: list[VideoFrame]) -> None:
        for frame in frames:
            state.decoded += 1
            i, role = expect.pop(frame.pts or 0, (-1, ""))
            if i < 0:
                continue
            gop, thumb, t = gops[i], thumbnail(frame), state.time(frame.pts)
            state.analyzed += 1
            if role == "key":
                gop.key, gop.luma, gop.hist = thumb, brightness(thumb), colour_histogram(thumb)
                if i > 0 and gops[i - 1].end is None:
                    _close(gops[i - 1], gop, state)
            elif gop.key is not None and t > gop.start:
                gop.motion = mad(gop.key, thumb) / state.frames_between(gop.start, t)
                gop.sample_luma = brightness(thumb)

    send_next = False
    for packet in packets(container, stream):
        if packet.pts is not None:
            state.end = max(state.end, state.time(packet.pts + (packet.duration or 0)))
        if is_key(packet):
            gops.append(Gop(packet.pts or 0, state.time(packet.pts)))
            expect[packet.pts or 0] = (len(gops) - 1, "key")
            sizes.clear()
            send_next = True
            take(decode(stream, packet))
            continue
        if not gops:
            continue  # before the first keyframe: not decodable on its own
        gops[-1].packets += 1
        if len(sizes) >= 3 and packet.size >= SPIKE_RATIO * max(sizes):
            gops[-1].spike = True
            if packet.pts is not None:
                gops[-1].last_spike = max(gops[-1].last_spike, state.time(packet.pts))
                gops[-1].spikes.append(packet.pts)
        sizes.append(packet.size)
        if send_next and packet.pts is not None:
            expect[packet.pts] = (len(gops) - 1, "sample")
            take(decode(stream, packet))
        send_next = False
    take(decode(stream, None))
    for gop, nxt in itertools.pairwise(gops):
        if gop.end is None:  # the next keyframe did not decode
            gop.end, gop.key = nxt.start, None
    if gops:
        gops[-1].end, gops[-1].key = max(state.end, gops[-1].start), None
    plan(gops, state.threshold)
    return gops
