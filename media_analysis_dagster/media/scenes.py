"""Scene transitions (hard cuts, fades through black, cross-dissolves) and motion, decoding as
little of the video as the question allows.

Decoding is the whole cost of scene detection (DESIGN §4), and a video's keyframes already
say where most of it is not needed:

1. **Keyframe pass** (`keyframe_pass`): every packet is read but only keyframes (and the frame
   after each, a motion sample) are decoded. Intervals between keyframes whose ends show the
   same scene, with no packet-size spike, no dim end, no encoder-placed end keyframe and no
   more than ``LONG_GOP_SECONDS``, are cleared.
2. **Fine pass** (`_fine`): the packets are read again and the intervals not cleared are
   decoded, neighbouring ones as one run closed by the next keyframe, without the frames
   nothing refers to (`decoding.set_decoder`). Each run's frames are judged by
   `transitions.RunAnalyzer` (cuts against the motion around them, fades, dissolves).
   A long interval gets the same treatment: that is the full-decode fallback.
3. **Exact frames** (`exact_cuts`): a cut found across skipped frames is put on its frame.

Speed therefore depends on how much of a video lies in intervals that hold a transition: on
10 minutes of 720p with a transition every 10 s, a quarter of the intervals were cleared and
the whole took 0.34-0.38 of PySceneDetect's time, with precision and recall 1.00
(``benchmarks/scenes.py``).

Bounds, per video: decoded frames ≤ every frame once + each keyframe and the frame after it
once more + one more decode of each interval holding a cut across skipped frames (none over
``LONG_GOP_SECONDS``); thumbnails analysed ≤ ``MAX_ANALYSIS_FPS`` per second of video in the
fine pass + two per keyframe; memory: one decoded frame, the thumbnails of the last
``max(DISSOLVE_WINDOWS)`` seconds of a run and a small record per keyframe interval.

What the keyframe pass cannot see: a cut away and back to a look-alike of the first scene
inside one interval with no packet spike, and a fade through black between look-alike
pictures inside one interval whose keyframes are not dim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.decoding import PassState, decode, is_key, packets, set_decoder
from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.exact_cuts import exact_cuts
from media_analysis_dagster.media.keyframe_pass import LONG_GOP_SECONDS, Gop, coarse_pass
from media_analysis_dagster.media.motion import thumbnail
from media_analysis_dagster.media.probe import open_video, stream_start
from media_analysis_dagster.media.transitions import RunAnalyzer, Transition, merge

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

__all__ = ["LONG_GOP_SECONDS", "MAX_ANALYSIS_FPS", "SceneMotionResult", "detect_scenes_and_motion"]

#: At most this many frames per second of video are analysed in the fine pass.
MAX_ANALYSIS_FPS = 60.0


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


class _Run:
    """One stretch of decoded intervals in the fine pass, closed by the next keyframe."""

    def __init__(self, state: PassState, start: float) -> None:
        self.state, self.start = state, start
        self.stop: float | None = None
        self.analyzer = RunAnalyzer(state.threshold, state.timeline.add)
        self.last: float | None = None

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
            self.analyzer.add(t, thumbnail(frame), apart, intra)
            self.state.analyzed += 1
            self.last = t


def _fine(
    container: InputContainer, stream: VideoStream, state: PassState, gops: list[Gop] | None
) -> list[Transition]:
    """Decode the intervals the keyframe pass did not clear (everything when ``gops`` is
    None) and return their transitions."""
    found: list[Transition] = []
    run: _Run | None = _Run(state, -1e9) if gops is None else None
    i = -1
    for packet in packets(container, stream):
        if gops is not None and is_key(packet):
            i += 1
            gop = gops[min(i, len(gops) - 1)]
            if run is not None and not gop.reason:  # the keyframe that closes the run
                run.take(decode(stream, packet) + decode(stream, None))
                found += run.analyzer.finish()
                stream.codec_context.flush_buffers()
                run = None
            if gop.reason:
                run = run or _Run(state, gop.start)
                run.stop = gops[i + 1].start if i + 1 < len(gops) else None
        if run is not None and (gops is None or i >= 0):
            run.take(decode(stream, packet))
    if run is not None:
        run.take(decode(stream, None))
        found += run.analyzer.finish()
    return found


def detect_scenes_and_motion(
    path: str | Path,
    *,
    threshold: float = 20.0,
    min_scene_len: float = 0.5,
    full_decode: bool = False,
) -> SceneMotionResult:
    """Transitions and motion of the video at ``path``; ``threshold`` is the mean absolute RGB
    difference (0-255) between consecutive 64x36 thumbnails that counts as a hard cut, and
    transitions closer than ``min_scene_len`` seconds are merged.

    ``full_decode`` decodes and analyses every frame instead (the reference the fast path is
    tested against; several times slower).
    """
    with open_video(path) as (container, stream):
        set_decoder(stream, skip=not full_decode, keyframes_only=not full_decode)
        rate = stream.guessed_rate or stream.average_rate
        time_base = float(stream.time_base) if stream.time_base else 1.0
        state = PassState(stream_start(stream), float(rate or 25), threshold, time_base)
        gops = None if full_decode else coarse_pass(container, stream, state) or None
    for gop in gops or []:
        if not gop.reason and gop.end is not None and gop.motion is not None:
            state.timeline.add(gop.start, gop.end, gop.motion)
    with open_video(path) as (container, stream):
        set_decoder(stream, skip=gops is not None)
        found = _fine(container, stream, state, gops)
        if gops is not None:
            found = exact_cuts(container, stream, state, found, gops)
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
