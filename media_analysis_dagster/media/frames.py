"""Extract evenly spaced frames by seeking, never by decoding the whole file (DESIGN §4).

For each target time we seek to the keyframe at or before it. Default mode keeps that keyframe
when it lies within a quarter of the sampling interval of the target (about as fast as a
keyframe-only grab), otherwise it decodes forward to the frame shown at the target; ``accurate``
always decodes forward, so each frame is the one displayed at its target (±1 frame). When the
next target lies ahead in the GOP already being decoded we keep decoding instead of seeking back.
The time recorded for a frame is always its true presentation time, never the target. Only the
current and one look-ahead frame are held, so memory is bounded by the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.probe import (
    VideoInfo,
    decoded_frames,
    open_video,
    probe_video,
    stream_start,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: Without a seek index, keep decoding forward rather than seek when the target is this close.
_CONTINUE_WITHOUT_INDEX = 2.0


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


def _output_size(frame: VideoFrame, info: VideoInfo, max_side: int) -> tuple[int, int]:
    """Size to scale the decoded picture to (before rotation): display aspect, fit in max_side."""
    w = max(1, round(frame.width * info.sample_aspect_ratio))
    h = frame.height
    scale = min(1.0, max_side / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _write(
    frame: VideoFrame, info: VideoInfo, path: Path, max_side: int, quality: int
) -> tuple[int, int]:
    """Save the frame as a player shows it (display aspect, rotated); return the JPEG's size."""
    from PIL import Image

    w, h = _output_size(frame, info, max_side)
    image = frame.to_image(width=w, height=h)
    transpose = {
        90: Image.Transpose.ROTATE_270,
        180: Image.Transpose.ROTATE_180,
        270: Image.Transpose.ROTATE_90,
    }.get(info.rotation)
    if transpose is not None:
        image = image.transpose(transpose)
    image.save(path, "JPEG", quality=quality)
    return image.size


class _Cursor:
    """A decode position in one stream: seek, then pull frames in presentation order.

    Holds the last returned frame (shown until the next one) and one look-ahead frame.
    """

    def __init__(self, container: InputContainer, stream: VideoStream, start: float) -> None:
        self.container, self.stream, self.start = container, stream, start
        self.time_base = stream.time_base or Fraction(1, 90_000)  # always set for video
        self._frames: Iterator[VideoFrame] | None = None
        self._pending: VideoFrame | None = None
        self._current: VideoFrame | None = None
        self.position = float("-inf")

    @property
    def live(self) -> bool:
        return self._current is not None and (self._frames is not None or self._pending is not None)

    def time_of(self, frame: VideoFrame) -> float:
        return float(frame.time or 0.0) - self.start

    def _pull(self) -> VideoFrame | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._frames is None:
            return None
        try:
            return next(self._frames)
        except StopIteration:
            self._frames = None
            return None

    def _take(self, frame: VideoFrame) -> VideoFrame:
        self._current, self.position = frame, self.time_of(frame)
        return frame

    def _seek(self, time: float) -> None:
        if time > 0:
            offset = int((time + self.start) / self.time_base)
        else:  # seeking to the start time itself can land late (MPEG-TS); ask for the origin
            offset = min(self.stream.start_time or 0, 0)
        self.container.seek(offset, backward=True, stream=self.stream)
        self._frames = decoded_frames(self.container, self.stream)
        self._pending = self._current = None

    def keyframe_before(self, target: float) -> float | None:
        """Time of the last keyframe at or before ``target`` from the demuxer's index (a decode
        timestamp: close enough to tell GOPs apart), or None for formats without an index."""
        try:
            entries = self.stream.index_entries
            if not len(entries):
                return None
            ts = int((target + self.start) / self.time_base)
            i = entries.search_timestamp(ts, backward=True)
            return float(entries[max(i, 0)].timestamp * self.time_base) - self.start
        except AttributeError:  # PyAV before index_entries
            return None

    def decode_to(self, target: float, first: VideoFrame | None = None) -> VideoFrame | None:
        """Decode forward to the frame displayed at ``target`` (the last one not after it)."""
        best = first if first is not None else self._current
        while (frame := self._pull()) is not None:
            if self.time_of(frame) > target + 1e-6:
                if best is None:
                    return self._take(frame)
                self._pending = frame
                break
            best = frame
        return self._take(best) if best is not None else None

    def seek_near(self, target: float, tolerance: float) -> VideoFrame | None:
        """Seek to the keyframe before ``target``; keep it if within ``tolerance``, else decode
        forward. A seek that lands after the target (B-frame delay, coarse index) is retried
        from earlier."""
        back = 0.0
        for _ in range(8):
            self._seek(target - back)
            first = self._pull()
            if first is not None:
                late = self.time_of(first) - target
                if late <= max(tolerance, 1e-6) or target - back <= 0:
                    if abs(late) <= tolerance or late > 0:
                        return self._take(first)
                    return self.decode_to(target, first)
            if target - back <= 0:
                return None
            back = max(1.0, back * 2)
        return None


def _same_gop(keyframe: float | None, position: float, target: float) -> bool:
    """Whether decoding forward from ``position`` reaches ``target`` without passing the
    keyframe before it, which a seek would land on instead."""
    if position > target:
        return False
    if keyframe is None:
        return target - position <= _CONTINUE_WITHOUT_INDEX
    return keyframe <= position


def extract_frames(
    path: str | Path,
    out_dir: str | Path,
    *,
    count: int | None = None,
    accurate: bool = False,
    max_side: int = 1280,
    info: VideoInfo | None = None,
    jpeg_quality: int = 90,
) -> list[ExtractedFrame]:
    """Write ``count`` JPEGs (``frame_0001.jpg``…) at evenly spaced times and describe them."""
    info = info or probe_video(path)
    count = count or default_frame_count(info.duration)
    targets = frame_targets(info.duration, count)
    tolerance = 0.0 if accurate else info.duration / count / 4
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[ExtractedFrame] = []
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        cursor = _Cursor(container, stream, stream_start(stream))
        for target in targets:
            if cursor.live and _same_gop(cursor.keyframe_before(target), cursor.position, target):
                frame = cursor.decode_to(target)
            else:
                frame = cursor.seek_near(target, tolerance)
            if frame is None:
                continue
            pts_time = cursor.time_of(frame)
            n = len(results)
            file = out / f"frame_{n + 1:04d}.jpg"
            width, height = _write(frame, info, file, max_side, jpeg_quality)
            results.append(
                ExtractedFrame(
                    index=n,
                    target_time=target,
                    pts_time=pts_time,
                    frame_number=round(pts_time * info.fps),
                    keyframe=bool(frame.key_frame),
                    path=file,
                    width=width,
                    height=height,
                )
            )
    if not results and targets:
        raise CorruptMediaError(f"No frame of the video {Path(path).name} could be decoded.")
    return results
