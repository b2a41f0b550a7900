"""Extract evenly spaced frames by seeking, never by decoding the whole file
(``docs/architecture.md``, media processing).

For each target time we seek to the keyframe at or before it. Default mode keeps that keyframe
when it lies within a quarter of the sampling interval of the target (about as fast as a
keyframe-only grab), otherwise it decodes forward to the frame shown at the target; ``accurate``
always decodes forward, so each frame is the one displayed at its target (±1 frame). The time
recorded for a frame is always its true presentation time, never the target. Given scene start
times, targets put at least one frame inside every scene (`scene_targets`).

The parts: ``frame_seeking`` moves through the stream (and refuses pictures over the pixel
limit), ``frame_quality`` chooses the frame worth looking at near each target (not black,
blurred or a repeat) and records why, ``frame_writing`` saves it as a player shows it.

Memory is bounded by the frame size, and the frame size is bounded whatever the header says: the
decoder is told the per-frame pixel limit (FFmpeg's ``max_pixels``), so a stream that grows past
it mid-stream is refused before a picture is allocated, with a `MediaLimitError`. Only the
current frame, one look-ahead frame and three candidates are held.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.frame_quality import (
    FrameScore,
    FrameSelection,
    exact_frame,
    pick_frame,
)
from media_analysis_dagster.media.frame_seeking import FrameCursor
from media_analysis_dagster.media.frame_writing import write_frame
from media_analysis_dagster.media.probe import VideoInfo, open_video, probe_video

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "MAX_FRAME_PIXELS",
    "ExtractedFrame",
    "default_frame_count",
    "extract_frames",
    "frame_targets",
    "scene_targets",
    "write_frame",
]

#: Largest decoded picture accepted (pixels), as probe_video's default header check.
MAX_FRAME_PIXELS = 8192 * 8192


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


def _plan(duration: float, count: int, scenes: Sequence[float] | None) -> list[tuple[float, float]]:
    """(target, cell length) per frame; a frame stays within a quarter cell of its target."""
    cells = _scene_cells(scenes, duration, count) if scenes is not None else []
    if cells:
        return cells
    step = max(duration, 0.0) / count if count > 0 else 0.0
    return [(t, step) for t in frame_targets(duration, count)]


def scene_targets(scenes: Sequence[float], duration: float, count: int) -> list[float]:
    """Target times that put one frame in the middle of every scene (scene start times, from
    `scenes` or elsewhere; 0 is implied) when there are no more scenes than frames,
    spare frames spread over the longest scenes; evenly spaced targets otherwise."""
    return [t for t, _ in _plan(duration, count, scenes)]


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
) -> list[ExtractedFrame]:
    """Write ``count`` JPEGs (``frame_0001.jpg``…) at evenly spaced times (one or more per scene
    when ``scenes`` start times are given, see `scene_targets`) and describe them. Raises
    MediaLimitError when a decoded picture has more than ``max_pixels`` pixels."""
    info = info or probe_video(path, max_pixels=max_pixels)
    count = count or default_frame_count(info.duration)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[ExtractedFrame] = []
    previous: Image.Image | None = None  # thumbnail of the last pick
    plan = _plan(info.duration, count, scenes)
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        ctx = stream.codec_context  # the decoder refuses, not allocates, an oversize picture
        ctx.options = {**ctx.options, "max_pixels": str(max_pixels)}
        cursor = FrameCursor(container, stream, max_pixels, Path(path).name)
        for target, cell in plan:
            if accurate:
                picked = exact_frame(cursor, target, previous)
            else:
                picked = pick_frame(cursor, target, cell / 4, info.fps, previous)
            if picked is None:
                continue
            chosen, selection = picked
            previous, pts_time, n = chosen.thumb, chosen.score.time, len(results)
            file = out / f"frame_{n + 1:04d}.jpg"
            width, height = write_frame(chosen.frame, info, file, max_side, jpeg_quality)
            results.append(
                ExtractedFrame(
                    index=n,
                    target_time=target,
                    pts_time=pts_time,
                    frame_number=round(pts_time * info.fps),
                    keyframe=bool(chosen.frame.key_frame),
                    path=file,
                    width=width,
                    height=height,
                    selection=selection,
                )
            )
    if not results and plan:
        raise CorruptMediaError(f"No frame of the video {Path(path).name} could be decoded.")
    return results
