"""Put hard cuts on their exact frames after a pass that skipped non-reference frames.

The fine pass decodes only frames that others refer to, so a cut is first found between two
decoded frames that may have skipped frames between them. When the new picture is an intra
frame the encoder started the scene there and the cut is exact. Otherwise the cut's keyframe
interval is decoded again up to the cut, this time with the skipped frames between the two
(reference frames have to be decoded anyway), and the cut moves to the first of them that is
closer to the new picture than to the old one. All the cuts of one interval share one such
decode, which stops at the last of them: at most one more decode of each interval holding such
a cut (intervals over ``LONG_GOP_SECONDS`` are left as found, a frame or two late).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

import numpy as np

from media_analysis_dagster.media.scenes.decoding import PassState, decode, packets
from media_analysis_dagster.media.scenes.keyframe_pass import Gop
from media_analysis_dagster.media.scenes.motion import mad, thumbnail
from media_analysis_dagster.media.scenes.transitions import Transition

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: Packets are read at most this far (seconds) past the last cut, for the decoder's delay.
READ_AHEAD = 1.0


def _refine(
    container: InputContainer,
    stream: VideoStream,
    state: PassState,
    cuts: list[Transition],
    key: int,
) -> list[Transition]:
    """Decode from the keyframe at ``key`` to the last of ``cuts``, keeping the thumbnails of
    the frames from each cut's ``after`` to its time."""
    ctx = stream.codec_context
    container.seek(key, stream=stream, backward=True)
    last = max(c.time for c in cuts)

    def wanted(t: float) -> bool:
        return any(c.after is not None and c.after - 1e-4 < t < c.time + 1e-4 for c in cuts)

    seen: dict[float, np.ndarray] = {}
    for packet in packets(container, stream):
        t = state.time(packet.pts) if packet.pts is not None else None
        if t is not None:
            ctx.skip_frame = "DEFAULT" if wanted(t) else "NONREF"
        frames = decode(stream, packet)
        for frame in frames:
            state.decoded += 1
            if wanted(state.time(frame.pts)):
                seen[round(state.time(frame.pts), 4)] = thumbnail(frame)
                state.analyzed += 1
        done = any(state.time(f.pts) >= last - 1e-4 for f in frames)
        if done or (t is not None and t > last + READ_AHEAD):
            break
    ctx.skip_frame = "NONREF"
    return [_closest(c, seen) for c in cuts]


def _closest(cut: Transition, seen: dict[float, np.ndarray]) -> Transition:
    """The cut on the first frame after ``cut.after`` that looks more like the new picture."""
    assert cut.after is not None
    old, new = seen.get(round(cut.after, 4)), seen.get(round(cut.time, 4))
    if old is None or new is None:
        return cut
    for t in sorted(t for t in seen if cut.after < t < cut.time):
        if mad(seen[t], new) < mad(seen[t], old):
            return Transition(t, cut.score, cut.kind)
    return Transition(cut.time, cut.score, cut.kind)


def exact_cuts(
    container: InputContainer,
    stream: VideoStream,
    state: PassState,
    found: list[Transition],
    gops: list[Gop],
) -> list[Transition]:
    """``found`` with every cut that has skipped frames before it put on its exact frame."""
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
