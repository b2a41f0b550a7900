"""Scene transitions (hard cuts, fades through black, cross-dissolves) and motion, decoding as
little of the video as the question allows.

Decoding is the whole cost of scene detection (``docs/architecture.md``, media processing),
and a video's keyframes already say where most of it is not needed:

1. **Keyframe pass** (`keyframe_pass`): every packet is read but only keyframes (and the frame
   after each, a motion sample) are decoded. Intervals between keyframes whose ends show the
   same scene, with no packet-size spike, no dim end, no encoder-placed end keyframe and no
   more than ``LONG_GOP_SECONDS``, are cleared.
2. **Fine pass** (`fine_pass`): the intervals not cleared are decoded, neighbouring ones as
   one run closed by the next keyframe, without the frames nothing refers to
   (`decoding.set_decoder`), on one thread per core (contiguous chunks, each with its own
   decoder). Each run's frames are judged by `transitions.RunAnalyzer` (cuts against the motion
   around them, fades, dissolves). An interval's decoding stops early once its transition is
   past and the frame reached has the colours of the next keyframe (the keyframe pass's own
   test), and every frame around a packet-size spike is decoded, so such a cut is exact at
   once. A long interval is decoded the same way, from its keyframe and past its last spike:
   that is the full-decode fallback.
3. **Exact frames** (`exact_cuts`): a cut still found across skipped frames is put on its frame.

Speed therefore depends on how much of a video lies in intervals that hold a transition, and
how late in them: on 10 minutes of 720p with a transition every 10 s, 3-4.5x PySceneDetect's
speed with precision and recall 1.00 (``benchmarks/scenes.py``; README "Scene detection").

Bounds, per video: decoded frames ≤ every frame once + each keyframe and the frame after it
once more + the overlap of each chunk boundary inside a run (``fine_pass.OVERLAP``) + one more
decode of each interval holding a cut across skipped frames (none over ``LONG_GOP_SECONDS``);
thumbnails analysed ≤ ``MAX_ANALYSIS_FPS`` per second of video in the fine pass + two per
keyframe; memory: per thread one decoded frame and the thumbnails of the last
``max(DISSOLVE_WINDOWS)`` seconds of a run, plus a small record (a 64-bin colour histogram)
per keyframe interval.

What the keyframe pass (and the early stop, from the frame where it stops) cannot see: a cut
away and back to a look-alike of the first scene inside one interval with no packet spike, and
a fade through black between look-alike pictures inside one interval whose ends are not dim.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.probe import open_video, stream_start
from media_analysis_dagster.media.scenes import DEFAULT_THRESHOLD
from media_analysis_dagster.media.scenes.decoding import PassState, set_decoder
from media_analysis_dagster.media.scenes.fine_pass import decode_all, fine_pass
from media_analysis_dagster.media.scenes.keyframe_pass import coarse_pass
from media_analysis_dagster.media.scenes.progress import SceneProgress
from media_analysis_dagster.media.scenes.result import SceneMotionResult
from media_analysis_dagster.media.scenes.transitions import merge

__all__ = ["check_threshold", "detect_scenes_and_motion"]


def check_threshold(threshold: float) -> None:
    """Refuse a hard-cut threshold no difference could reach (above 255) or every frame would
    (0 or below), and NaN, which no comparison passes, with a ValueError."""
    valid = isinstance(threshold, int | float) and not isinstance(threshold, bool)
    if not (valid and math.isfinite(threshold) and 0 < threshold <= 255):
        raise ValueError(
            f"The scene threshold must be a number above 0 and at most 255, not {threshold!r}."
        )


def detect_scenes_and_motion(
    path: str | Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_scene_len: float = 0.5,
    full_decode: bool = False,
    workers: int | None = None,
    on_progress: Callable[[float, float], None] | None = None,
) -> SceneMotionResult:
    """Transitions and motion of the video at ``path``; ``threshold`` is the mean absolute RGB
    difference (0-255) between consecutive 64x36 thumbnails that counts as a hard cut, and
    transitions closer than ``min_scene_len`` seconds are merged.

    ``full_decode`` decodes and analyses every frame instead (the reference the fast path is
    tested against; several times slower). ``workers``: threads of the fine pass (default: the
    cores, at most `fine_pass.MAX_WORKERS`). ``on_progress(done, total)`` hears how many
    seconds of the video are settled (`progress.SceneProgress`). Raises ValueError for a
    threshold outside (0, 255].
    """
    check_threshold(threshold)
    with open_video(path) as (container, stream):
        set_decoder(stream, skip=not full_decode, keyframes_only=not full_decode)
        rate = stream.guessed_rate or stream.average_rate
        time_base = float(stream.time_base) if stream.time_base else 1.0
        state = PassState(stream_start(stream), float(rate or 25), threshold, time_base)
        progress = SceneProgress(on_progress, _declared_seconds(container, stream))
        progress.tell()
        gops = None if full_decode else coarse_pass(container, stream, state) or None
    for gop in gops or []:
        if not gop.reason and gop.end is not None and gop.motion is not None:
            state.timeline.add(gop.start, gop.end, gop.motion)
    if gops is None:
        with open_video(path) as (container, stream):
            set_decoder(stream, skip=False)
            found = decode_all(container, stream, state, progress)
    else:
        progress.planned(gops, state.end)
        found = fine_pass(path, state, gops, workers, progress)
    progress.finished()
    if state.analyzed == 0:
        raise CorruptMediaError(f"The video {Path(path).name} has no decodable frame.")
    kept = merge(found, min_scene_len)
    return SceneMotionResult(
        cut_times=tuple(round(x.time, 3) for x in kept),
        scores=tuple(round(x.score, 2) for x in kept),
        mean_motion=state.timeline.mean(),
        motion_timeline=tuple(state.timeline.points()),
        frames_analyzed=state.analyzed,
        analysis_fps=state.analyzed / state.end if state.end > 0 else 0.0,
        method="pyav-full-64x36" if gops is None else "pyav-keyframes-64x36",
        cut_kinds=tuple(x.kind for x in kept),
        frames_decoded=state.decoded,
        gops=len(gops or []),
        gops_decoded=sum(1 for g in gops or [] if g.reason),
    )


def _declared_seconds(container: object, stream: object) -> float:
    """The video's length as its headers say (0.0 when they do not): the total that progress
    is counted against until the keyframe pass has measured it."""
    duration, time_base = getattr(stream, "duration", None), getattr(stream, "time_base", None)
    if duration is not None and time_base is not None:
        return float(duration * time_base)
    whole = getattr(container, "duration", None)
    return whole / 1_000_000 if whole is not None else 0.0
