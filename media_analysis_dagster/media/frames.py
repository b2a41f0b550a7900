"""Extract evenly spaced frames by seeking, never by decoding the whole file
(``docs/architecture.md``, media processing), and pick frames worth looking at.

Each target time has a *tolerance* (a quarter of its cell: the sampling interval, or with
scenes the target's share of its scene) and a *window* a better frame may come from (the
tolerance either side; with scenes the whole cell, which lies inside the scene). The usual pick
of the default mode is the keyframe before the target when within the tolerance, else the
keyframe after it when within the tolerance, else the frame shown at the target, decoded from
the keyframe before: about as fast as a keyframe-only grab. ``accurate`` always decodes to the
frame displayed at the target (±1 frame) and keeps it. The time recorded for a frame is always
its true presentation time, never the target. Given scene start times, targets put at least
one frame inside every scene (`scene_targets`).

Frames worth looking at (`frame_quality` judges them): the usual pick is scored, with a few
frames the decoder passes on its way to it; when it is clean nothing more is decoded. A dark,
flat or blurred one starts a search of its window, cheapest first (`search_better`): other
keyframes (one seek and one picture each; larger ones first, as a keyframe's compressed size
follows its detail), then the frames on the target's side of the pick, then the other side
(after a pick decoded forward, the frames after it come first: they need no seek), at most
RESCUE_FRAMES decoded frames on each side beyond what the plain default mode decodes to reach
them. A near copy of the previous tile is readable: it gives way only to a frame decoded
anyway (in a still scene every frame is a copy, and every search would be spent in vain).
Once FRUITLESS_SEARCHES searches found nothing and they are half the frames so far (a video
dark throughout), later searches try one keyframe only: the cost stays bounded whatever the
video, and a few dark scenes in a long video do not stop the search elsewhere.

The parts: ``frame_seeking`` moves through the stream (and refuses pictures over the pixel
limit), ``frame_quality`` measures and chooses, ``frame_writing`` saves the frame as a player
shows it.

Memory is bounded by the frame size, and the frame size is bounded whatever the header says: the
decoder is told the per-frame pixel limit (FFmpeg's ``max_pixels``), so a stream that grows past
it mid-stream is refused before a picture is allocated, with a `MediaLimitError`. Only the
current frame, one look-ahead frame and six candidates are held.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.frame_quality import (
    FramePicker,
    FrameScore,
    FrameSelection,
    ScoredFrame,
    score_frame,
)
from media_analysis_dagster.media.frame_seeking import FrameCursor
from media_analysis_dagster.media.frame_writing import write_frame
from media_analysis_dagster.media.probe import VideoInfo, open_video, probe_video

if TYPE_CHECKING:
    from concurrent.futures import Future

    from PIL import Image

__all__ = [
    "MAX_FRAME_PIXELS",
    "ExtractedFrame",
    "default_frame_count",
    "extract_frames",
    "frame_targets",
    "frame_windows",
    "scene_targets",
    "write_frame",
]

#: Largest decoded picture accepted (pixels), as probe_video's default header check.
MAX_FRAME_PIXELS = 8192 * 8192
#: Candidates scored per target among the frames decoded on the way to it.
MAX_SCORED = 8
#: Frames decoded at most, per target, looking for a better frame than a defective pick.
RESCUE_FRAMES = 60
#: Keyframes tried at most per target.
KEYFRAME_TRIES = 3
#: While searching, one decoded frame in this many is scored (about eight a second at 30 fps).
SCAN_STRIDE = 4
#: Once this many searches found nothing, and they are at least half the frames written so far
#: (a video dark or flat throughout), later searches try one keyframe only.
FRUITLESS_SEARCHES = 2


@dataclass(frozen=True)
class ExtractedFrame:
    """One JPEG written for a target time, with the presentation time it really shows."""

    index: int
    target_time: float
    pts_time: float
    frame_number: int
    keyframe: bool
    path: Path
    width: int
    height: int
    selection: FrameSelection | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (path as a string); `from_dict` reads it back."""
        return {**dataclasses.asdict(self), "path": str(self.path)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractedFrame:
        sel = data.get("selection")
        if sel is not None:
            scores = {k: FrameScore(**sel[k]) for k in ("chosen", "nearest")}
            sel = FrameSelection(**{**sel, **scores})
        return cls(**{**data, "path": Path(data["path"]), "selection": sel})


def default_frame_count(duration: float) -> int:
    """Frames to take when the request names none: one 2x3 sheet for clips under 30 s, two
    sheets (12) under 5 minutes, three sheets (18) for anything longer."""
    if duration < 30:
        return 6
    if duration < 300:
        return 12
    return 18


def frame_targets(duration: float, count: int) -> list[float]:
    """Centres of ``count`` equal intervals, so no frame is the black first or the last one."""
    if count <= 0:
        return []
    step = max(duration, 0.0) / count
    return [(i + 0.5) * step for i in range(count)]


def _scene_cells(scenes: Sequence[float], duration: float, count: int) -> list[tuple[float, float]]:
    """(centre, length) of the cells when every scene gets at least one of ``count`` frames;
    spare frames go one by one to the scene with the longest cells. Empty when there are more
    scenes than frames."""
    starts = sorted({0.0, *(float(s) for s in scenes if 0 < s < duration)})
    if count <= 0 or duration <= 0 or len(starts) > count:
        return []
    lengths = [b - a for a, b in zip(starts, [*starts[1:], duration], strict=True)]
    tiles = [1] * len(starts)
    for _ in range(count - len(starts)):
        i = max(range(len(tiles)), key=lambda k: lengths[k] / tiles[k])
        tiles[i] += 1
    cells = []
    for start, length, n in zip(starts, lengths, tiles, strict=True):
        cells += [(start + (j + 0.5) * length / n, length / n) for j in range(n)]
    return cells


@dataclass(frozen=True)
class _Target:
    """One planned frame: its target time, how far the usual pick may lie from it (a quarter
    cell) and the window a better frame may come from (the quarter cell either side; with
    scenes, the whole cell, which lies inside its scene)."""

    time: float
    tolerance: float
    window: tuple[float, float]


def _plan(duration: float, count: int, scenes: Sequence[float] | None) -> list[_Target]:
    """The targets of ``count`` frames, by scene when ``scenes`` are given (`_scene_cells`)."""
    cells = _scene_cells(scenes, duration, count) if scenes is not None else []
    if cells:
        # a frame at a cell's end time is the next cell's first one: keep clear of it
        edge = 1e-3
        return [_Target(t, n / 4, (t - n / 2, max(t, t + n / 2 - edge))) for t, n in cells]
    step = max(duration, 0.0) / count if count > 0 else 0.0
    return [
        _Target(t, step / 4, (t - step / 4, t + step / 4)) for t in frame_targets(duration, count)
    ]


def frame_windows(
    duration: float, count: int, scenes: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    """The span each frame of `extract_frames` may come from in the default mode: a quarter of
    the sampling interval either side of its target, or with ``scenes`` its share of its
    scene (which lies inside the scene)."""
    return [t.window for t in _plan(duration, count, scenes)]


def scene_targets(scenes: Sequence[float], duration: float, count: int) -> list[float]:
    """Target times that put one frame in the middle of every scene (scene start times, from
    `scenes` or elsewhere; 0 is implied) when there are no more scenes than frames,
    spare frames spread over the longest scenes; evenly spaced targets otherwise."""
    return [t.time for t in _plan(duration, count, scenes)]


def search_better(cursor: FrameCursor, picker: FramePicker, *, thorough: bool = True) -> None:
    """Look for a clean frame in the window after a defective usual pick, cheapest first (see
    the module docstring): keyframes, the frames after the pick and those before it, the
    target's side first; not ``thorough``, one keyframe only."""
    usual = picker.usual
    assert usual is not None
    if usual.score.defect == "duplicate":  # readable: only frames decoded anyway replace it
        return
    when, target, frame = usual.score.time, picker.target, cursor.frame_duration
    grabbed = bool(usual.frame.key_frame)
    picker.stride = SCAN_STRIDE
    if not thorough:
        _try_keyframes(cursor, picker, 1, cursor.keyframe_size(when) if grabbed else None)
        return

    def keyframes() -> None:
        size = cursor.keyframe_size(when) if grabbed else None
        _try_keyframes(cursor, picker, KEYFRAME_TRIES, size)

    def after() -> None:  # the end of a fade in, the next shot
        if grabbed:
            cursor.scan_at(when, picker.high, RESCUE_FRAMES, lambda: picker.settled)
        else:  # decoded forward to the pick: these frames come next, without a seek
            cursor.scan(picker.high, RESCUE_FRAMES, lambda: picker.settled)

    def before() -> None:  # a fade out, a cut to black: the RESCUE_FRAMES frames before the
        # pick, decoded from the keyframe before them as the plain default mode reaches a target
        begin, end = max(picker.low, when - RESCUE_FRAMES * frame), when - frame / 2
        if begin < end:
            cursor.scan_at(begin, end, RESCUE_FRAMES, lambda: False, free_skip=True)

    if not grabbed:  # the frames before were sampled on the way: a closer look comes last
        steps = (after, keyframes, before)
    else:
        steps = (keyframes, before, after) if when > target else (keyframes, after, before)
    for step in steps:
        if picker.found:
            return
        step()
        picker.score_skipped()


def _try_keyframes(cursor: FrameCursor, picker: FramePicker, tries: int, size: int | None) -> None:
    """Decode keyframes of the window other than the usual pick, nearest the target first
    (larger ones first when the pick was a keyframe of ``size`` bytes), until one is clean."""
    assert picker.usual is not None
    usual, near, target = picker.usual.score.time, 3 * cursor.frame_duration, picker.target
    keys = cursor.keyframes_between(picker.low, picker.high, target)
    keys = [k for k in keys if abs(k.time - usual) > near]
    keys.sort(key=lambda k: (size is not None and k.size <= size, abs(k.time - target)))
    for key in keys[:tries]:
        frame = cursor.grab_keyframe(key)
        if frame is not None and picker.inside(cursor.time_of(frame)):
            picker.take(frame, cursor.time_of(frame))
        if picker.found:
            return


def pick_frame(
    cursor: FrameCursor,
    planned: _Target,
    fps: float,
    previous: Image.Image | None,
    *,
    thorough: bool = True,
) -> tuple[ScoredFrame, FrameSelection] | None:
    """Default mode with frame quality: the usual frame (a keyframe within the tolerance of the
    target, else the frame at it), or a better one from the window (`search_better`)."""
    target, tolerance = planned.time, planned.tolerance
    stride = max(1, math.ceil(tolerance * (fps or 30.0) / MAX_SCORED))
    picker = FramePicker(target, planned.window, stride, previous)
    cursor.observer = picker.offer
    try:
        frame = cursor.step(target, tolerance)
        if frame is None:
            return None
        picker.settle(frame, cursor.time_of(frame))
        if not picker.found:
            search_better(cursor, picker, thorough=thorough)
    finally:
        cursor.observer = None
    chosen, reason = picker.choose()
    assert picker.usual is not None
    selection = FrameSelection(reason, max(picker.scored, 1), chosen.score, picker.usual.score)
    return chosen, selection


def exact_frame(
    cursor: FrameCursor, target: float, previous: Image.Image | None
) -> tuple[ScoredFrame, FrameSelection] | None:
    """Accurate mode: the frame shown at ``target``, scored but never replaced."""
    frame = cursor.step(target, 0.0)
    if frame is None:
        return None
    scored = score_frame(frame, cursor.time_of(frame), previous)
    return scored, FrameSelection("exact", 1, scored.score, scored.score)


class _Writer:
    """Writes the JPEGs one behind, on a thread: a frame is converted and compressed while the
    next target is decoded (a second core does it), one at a time, so one frame more is held.
    ``frames`` are the written ones, in order; ``on_progress`` hears each."""

    def __init__(
        self,
        info: VideoInfo,
        out: Path,
        quality: tuple[int, int],
        planned: int,
        on_progress: Callable[[float, float], None] | None,
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.info, self.out, (self.max_side, self.quality) = info, out, quality
        self.planned, self.on_progress = planned, on_progress
        self.frames: list[ExtractedFrame] = []
        self.count = 0  # frames accepted: written, or being written
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frame-writer")
        self._job: tuple[Future[tuple[int, int]], dict[str, Any]] | None = None

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None:
                self.flush()
        finally:
            self._pool.shutdown(wait=True)

    def write(self, chosen: ScoredFrame, selection: FrameSelection, target: float) -> None:
        self.flush()
        n, pts_time = self.count, chosen.score.time
        self.count += 1
        file = self.out / f"frame_{n + 1:04d}.jpg"
        job = self._pool.submit(
            write_frame, chosen.frame, self.info, file, self.max_side, self.quality
        )
        frame_number, keyframe = round(pts_time * self.info.fps), bool(chosen.frame.key_frame)
        fields = dict(index=n, target_time=target, pts_time=pts_time, path=file)
        fields.update(frame_number=frame_number, keyframe=keyframe, selection=selection)
        self._job = (job, fields)

    def flush(self) -> None:
        if self._job is None:
            return
        (job, fields), self._job = self._job, None
        width, height = job.result()
        self.frames.append(ExtractedFrame(**fields, width=width, height=height))
        if self.on_progress is not None:
            self.on_progress(float(len(self.frames)), float(self.planned))


def extract_frames(
    path: str | Path,
    out_dir: str | Path,
    *,
    count: int | None = None,
    accurate: bool = False,
    max_side: int = 1280,
    info: VideoInfo | None = None,
    jpeg_quality: int = 90,
    scenes: Sequence[float] | None = None,
    max_pixels: int = MAX_FRAME_PIXELS,
    on_progress: Callable[[float, float], None] | None = None,
) -> list[ExtractedFrame]:
    """Write ``count`` JPEGs (``frame_0001.jpg``…) at evenly spaced times (one or more per scene
    when ``scenes`` start times are given, see `scene_targets`) and describe them;
    ``on_progress(frames written, frames planned)`` hears each. Raises MediaLimitError when a
    decoded picture has more than ``max_pixels`` pixels."""
    info = info or probe_video(path, max_pixels=max_pixels)
    count = count or default_frame_count(info.duration)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous: Image.Image | None = None  # thumbnail of the last pick
    plan = _plan(info.duration, count, scenes)
    jpeg = (max_side, jpeg_quality)
    with (
        open_video(path) as (container, stream),
        _Writer(info, out, jpeg, len(plan), on_progress) as writer,
    ):
        stream.thread_type = "AUTO"
        ctx = stream.codec_context  # the decoder refuses, not allocates, an oversize picture
        ctx.options = {**ctx.options, "max_pixels": str(max_pixels)}
        cursor = FrameCursor(container, stream, max_pixels, Path(path).name)
        fruitless = 0  # searches that found nothing: many in few frames, a video dark throughout
        for planned in plan:
            if accurate:
                picked = exact_frame(cursor, planned.time, previous)
            else:
                thorough = fruitless < FRUITLESS_SEARCHES or 2 * fruitless < writer.count
                picked = pick_frame(cursor, planned, info.fps, previous, thorough=thorough)
            if picked is None:
                continue
            chosen, selection = picked
            fruitless += int(selection.reason == "best_available")
            previous = chosen.thumb
            writer.write(chosen, selection, planned.time)
    if not writer.frames and plan:
        raise CorruptMediaError(f"No frame of the video {Path(path).name} could be decoded.")
    return writer.frames
