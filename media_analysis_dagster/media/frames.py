"""Extract evenly spaced frames by seeking, never by decoding the whole file (DESIGN §4).

For each target time we seek to the keyframe at or before it. Default mode keeps that keyframe
when it lies within a quarter of the sampling interval of the target (about as fast as a
keyframe-only grab), otherwise it decodes forward to the frame shown at the target; ``accurate``
always decodes forward, so each frame is the one displayed at its target (±1 frame). When the
next target lies ahead in the GOP already being decoded we keep decoding instead of seeking back.
The time recorded for a frame is always its true presentation time, never the target.

Frames worth looking at (default mode): a black, blurred or repeated tile wastes a sheet cell and
a vision call, so among the frames that mode reaches anyway within the quarter-interval window
(the keyframe, the frames decoded on the way to the target) the sharpest one that is neither
black nor a near copy of the previous pick is chosen. Only when nothing acceptable was decoded do
we spend more: up to ``RESCUE_FRAMES`` further frames after a black pick (a fade), then the next
keyframe if it is inside the window (a still scene). Every frame records why it was chosen
(`FrameSelection`). Given scene start times, targets put at least one frame inside
every scene (`scene_targets`).

Memory is bounded by the frame size, and the frame size is bounded whatever the header says: the
decoder is told the per-frame pixel limit (FFmpeg's ``max_pixels``), so a stream that grows past
it mid-stream is refused before a picture is allocated, with a `MediaLimitError`. Only the
current frame, one look-ahead frame and three candidates (the usual pick, the best one, the last
one scored) are held. Written frames fit ``max_side`` keeping the display aspect, but no side is
below MIN_FRAME_SIDE, so a 1000:1 pixel aspect cannot make a 1-pixel or a 64000-pixel picture.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from media_analysis_dagster.media.errors import CorruptMediaError, MediaLimitError
from media_analysis_dagster.media.probe import VideoInfo, open_video, probe_video, stream_start

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream
    from PIL import Image

#: Without a seek index, keep decoding forward rather than seek when the target is this close.
_CONTINUE_WITHOUT_INDEX = 2.0
#: Largest decoded picture accepted (pixels), as probe_video's default header check.
MAX_FRAME_PIXELS = 8192 * 8192
#: Shortest side of a written frame; extreme aspect ratios are squeezed to this, not below.
MIN_FRAME_SIDE = 8
#: A frame whose mean luma (0-255, full range) is below this is black.
BLACK_LUMA = 16.0
#: Two frames whose 16x16 gray thumbnails differ by less than this (mean, 0-255) are copies.
DUPLICATE_DIFF = 3.0
#: Another candidate replaces the usual pick only when this many times sharper.
SHARPER_RATIO = 1.25
#: Candidates scored per target while decoding through the window (plus the usual pick).
MAX_SCORED = 8
#: Extra frames decoded past a black pick (a fade in) when nothing acceptable was decoded.
RESCUE_FRAMES = 30
#: Longest side of the grayscale picture the scores are computed on.
ANALYSIS_SIDE = 320
_LAPLACIAN = (0, 1, 0, 1, -4, 1, 0, 1, 0)

Reason = Literal["nearest", "sharper", "not_black", "not_duplicate", "exact"]


@dataclass(frozen=True)
class FrameScore:
    """Scores of one decoded frame: Laplacian variance, mean luma, difference to the last pick."""

    time: float
    sharpness: float
    mean_luma: float
    difference: float | None  # None for the first pick

    @property
    def black(self) -> bool:
        return self.mean_luma < BLACK_LUMA

    @property
    def duplicate(self) -> bool:
        return self.difference is not None and self.difference < DUPLICATE_DIFF


@dataclass(frozen=True)
class FrameSelection:
    """Why this frame was written: ``nearest`` (the usual pick), ``sharper`` (another frame in the
    window was at least SHARPER_RATIO times sharper), ``not_black`` / ``not_duplicate`` (the usual
    pick was black / a copy of the previous pick), ``exact`` (accurate mode)."""

    reason: Reason
    candidates: int
    chosen: FrameScore
    nearest: FrameScore


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


def _fit(width: float, height: float, box: int) -> tuple[int, int]:
    """Scale to fit a ``box`` square keeping aspect, each side at least MIN_FRAME_SIDE."""
    scale = min(1.0, box / max(width, height, 1))
    return max(MIN_FRAME_SIDE, round(width * scale)), max(MIN_FRAME_SIDE, round(height * scale))


def _output_size(frame: VideoFrame, info: VideoInfo, max_side: int) -> tuple[int, int]:
    """Size to scale the decoded picture to (before rotation): display aspect, fit in max_side."""
    return _fit(frame.width * info.sample_aspect_ratio, frame.height, max_side)


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


@dataclass
class _Scored:
    """A scored candidate: the frame is kept so the chosen one can be written."""

    frame: VideoFrame
    score: FrameScore
    thumb: Image.Image  # 16x16 gray, for the duplicate test of the next pick

    @property
    def acceptable(self) -> bool:
        return not (self.score.black or self.score.duplicate)


def _score(frame: VideoFrame, time: float, previous: Image.Image | None) -> _Scored:
    """Sharpness (variance of a 4-neighbour Laplacian), mean luma and a 16x16 thumbnail of a
    small full-range grayscale of the frame; difference is to the previous pick's thumbnail.

    Pillow only: numpy's import alone would cost a keyframe-only extraction 15-40 %.
    """
    from PIL import Image, ImageChops, ImageFilter, ImageStat

    w, h = _fit(frame.width, frame.height, ANALYSIS_SIDE)
    w, h = max(16, w), max(16, h)  # the 16x16 thumbnail needs as many pixels
    plane = frame.reformat(width=w, height=h, format="gray", interpolation="AREA").planes[0]
    gray = Image.frombuffer("L", (w, h), bytes(plane), "raw", "L", plane.line_size, 1)
    # The Laplacian is divided by 4 around 128 so that 8 bits hold it (|value| <= 1020); the
    # filter copies the border pixels unfiltered, so they are cropped off.
    kernel = ImageFilter.Kernel((3, 3), _LAPLACIAN, scale=4, offset=128)
    laplacian = gray.filter(kernel).crop((1, 1, w - 1, h - 1))
    thumb = gray.resize((16, 16), Image.Resampling.BOX)
    diff = None
    if previous is not None:
        diff = ImageStat.Stat(ImageChops.difference(thumb, previous)).mean[0]
    sharpness = ImageStat.Stat(laplacian).var[0] * 16
    score = FrameScore(time, sharpness, ImageStat.Stat(gray).mean[0], diff)
    return _Scored(frame, score, thumb)


class _Picker:
    """Scores frames of one target's window as the cursor decodes them and keeps the usual pick
    and the sharpest acceptable candidate (not black, not a copy of the previous pick)."""

    def __init__(
        self, target: float, tolerance: float, stride: int, previous: Image.Image | None
    ) -> None:
        self.low, self.high = target - tolerance, target + tolerance
        self.stride, self.previous = stride, previous
        self.default: _Scored | None = None
        self.best: _Scored | None = None
        self._recent: _Scored | None = None  # the usual pick is often the last one scored
        self.scored, self._skipped, self._last = 0, stride, float("-inf")

    def offer(self, frame: VideoFrame, time: float) -> None:
        if not self.low - 1e-6 <= time <= self.high + 1e-6 or time <= self._last:
            return
        self._last, self._skipped = time, self._skipped + 1
        if self._skipped >= self.stride:
            self._skipped = 0
            self._consider(self._scored(frame, time))

    def _scored(self, frame: VideoFrame, time: float) -> _Scored:
        for known in (self.default, self.best, self._recent):
            if known is not None and abs(known.score.time - time) < 1e-9:
                return known
        self.scored += 1
        self._recent = _score(frame, time, self.previous)
        return self._recent

    def _consider(self, c: _Scored) -> None:
        if c.acceptable and (self.best is None or c.score.sharpness > self.best.score.sharpness):
            self.best = c

    def settle(self, frame: VideoFrame, time: float) -> None:
        """Record the frame the plain default mode would write."""
        self.default = self._scored(frame, time)
        self._consider(self.default)

    @property
    def needs_rescue(self) -> bool:
        return self.best is None

    @property
    def default_black(self) -> bool:
        return self.default is not None and self.default.score.black

    def choose(self) -> tuple[_Scored, Reason]:
        d = self.default
        assert d is not None, "settle() first"
        best = self.best
        if best is None or best is d:
            return d, "nearest"
        if d.acceptable:
            sharper = best.score.sharpness >= SHARPER_RATIO * d.score.sharpness
            return (best, "sharper") if sharper else (d, "nearest")
        return best, "not_black" if d.score.black else "not_duplicate"


def _decoded(
    container: InputContainer, stream: VideoStream, max_pixels: int, name: str
) -> Iterator[VideoFrame]:
    """Frames of ``stream`` from the current position, in presentation order; a damaged packet
    is skipped, a read error ends the stream, a picture over ``max_pixels`` (refused by the
    decoder, or decoded by one that ignores the option) raises MediaLimitError."""
    import av

    ctx, start = stream.codec_context, stream_start(stream)
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                frames = []
            if ctx.width * ctx.height > max_pixels or any(
                f.width * f.height > max_pixels for f in frames
            ):
                big = max(frames, key=lambda f: f.width * f.height, default=None)
                w, h = (big.width, big.height) if big else (ctx.width, ctx.height)
                when = float(packet.pts * packet.time_base) - start if packet.pts else 0.0
                raise MediaLimitError(
                    f"The video {name} has {w}x{h}-pixel pictures from about {when:.2f} s, "
                    f"more than the limit of {max_pixels} pixels per frame."
                )
            yield from (f for f in frames if f.pts is not None)
    except av.error.FFmpegError:
        return


class _Cursor:
    """A decode position in one stream: seek, then pull frames in presentation order.

    Holds the last returned frame (shown until the next one) and one look-ahead frame; every
    frame pulled is shown to ``observer`` (the picker of the current target).
    """

    def __init__(
        self, container: InputContainer, stream: VideoStream, max_pixels: int, name: str
    ) -> None:
        self.container, self.stream, self.start = container, stream, stream_start(stream)
        self.max_pixels, self.name = max_pixels, name
        self.time_base = stream.time_base or Fraction(1, 90_000)  # always set for video
        self._frames: Iterator[VideoFrame] | None = None
        self._pending: VideoFrame | None = None
        self._current: VideoFrame | None = None
        self.position = float("-inf")
        self.observer: Callable[[VideoFrame, float], None] | None = None

    @property
    def live(self) -> bool:
        return self._current is not None and (self._frames is not None or self._pending is not None)

    def time_of(self, frame: VideoFrame) -> float:
        return float(frame.time or 0.0) - self.start

    def _pull(self) -> VideoFrame | None:
        frame = self._pending
        self._pending = None
        if frame is None and self._frames is not None:
            frame = next(self._frames, None)
            if frame is None:
                self._frames = None
        if frame is not None and self.observer is not None:
            self.observer(frame, self.time_of(frame))
        return frame

    def _take(self, frame: VideoFrame) -> VideoFrame:
        self._current, self.position = frame, self.time_of(frame)
        return frame

    def _seek(self, time: float, offset: int | None = None) -> None:
        """Seek to the keyframe at or before ``time``, or at or after the index timestamp
        ``offset`` (demuxers may shift a requested time by the B-frame delay, an index
        timestamp searched forward lands on its own keyframe)."""
        forward = offset is not None
        if offset is None and time > 0:
            offset = int((time + self.start) / self.time_base)
        elif offset is None:  # seeking to the start time itself can land late (MPEG-TS)
            offset = min(self.stream.start_time or 0, 0)
        self.container.seek(offset, backward=not forward, stream=self.stream)
        self._frames = _decoded(self.container, self.stream, self.max_pixels, self.name)
        self._pending = self._current = None

    def _keyframe(self, time: float, backward: bool) -> tuple[float, int] | None:
        """Time and timestamp of the keyframe at or before (``backward``) or after ``time`` from
        the demuxer's index (a decode timestamp: close enough to tell GOPs apart), or None (no
        index, no such keyframe)."""
        try:
            entries = self.stream.index_entries
            if not len(entries):
                return None
            ts = int((time + self.start) / self.time_base) + (0 if backward else 1)
            i = entries.search_timestamp(ts, backward=backward)
            if i < 0 and not backward:
                return None
            found = entries[max(i, 0)].timestamp
            return float(found * self.time_base) - self.start, found
        except AttributeError:  # PyAV before index_entries
            return None

    def keyframe_before(self, target: float) -> float | None:
        found = self._keyframe(target, backward=True)
        return None if found is None else found[0]

    def jump_to_next_keyframe(self, until: float) -> None:
        """Seek to the first keyframe after the current position if it is not after ``until``
        and decode it (one more cheap candidate when the usual pick is rejected)."""
        found = self._keyframe(self.position, backward=False)
        if found is None or not self.position < found[0] <= until:
            return
        self._seek(found[0], offset=found[1])
        frame = self._pull()
        if frame is not None:
            self._take(frame)

    def decode_to(
        self, target: float, first: VideoFrame | None = None, max_frames: int | None = None
    ) -> VideoFrame | None:
        """Decode forward to the frame displayed at ``target`` (the last one not after it), or
        stop after ``max_frames`` frames."""
        best = first if first is not None else self._current
        pulled = 0
        while (max_frames is None or pulled < max_frames) and (frame := self._pull()) is not None:
            pulled += 1
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

    def step(self, target: float, tolerance: float) -> VideoFrame | None:
        """The plain default-mode (or accurate, tolerance 0) frame for ``target``."""
        if self.live and _same_gop(self.keyframe_before(target), self.position, target):
            return self.decode_to(target)
        return self.seek_near(target, tolerance)


def _same_gop(keyframe: float | None, position: float, target: float) -> bool:
    """Whether decoding forward from ``position`` reaches ``target`` without passing the
    keyframe before it, which a seek would land on instead."""
    if position > target:
        return False
    if keyframe is None:
        return target - position <= _CONTINUE_WITHOUT_INDEX
    return keyframe <= position


def _pick(
    cursor: _Cursor, target: float, tolerance: float, fps: float, previous: Image.Image | None
) -> tuple[_Scored, FrameSelection] | None:
    """Default mode with frame quality: the usual frame, or a better one from the window."""
    stride = max(1, math.ceil(tolerance * (fps or 30.0) / MAX_SCORED))
    picker = _Picker(target, tolerance, stride, previous)
    cursor.observer = picker.offer
    try:
        frame = cursor.step(target, tolerance)
        if frame is None:
            return None
        picker.settle(frame, cursor.time_of(frame))
        if picker.needs_rescue and picker.default_black and cursor.live:  # a fade: scan on
            picker.stride = max(1, RESCUE_FRAMES // MAX_SCORED)
            cursor.decode_to(target + tolerance, max_frames=RESCUE_FRAMES)
        if picker.needs_rescue:  # a still scene or a long fade: the next keyframe may differ
            picker.stride = 1
            cursor.jump_to_next_keyframe(target + tolerance)
    finally:
        cursor.observer = None
    chosen, reason = picker.choose()
    assert picker.default is not None
    candidates = max(picker.scored, 1)
    return chosen, FrameSelection(reason, candidates, chosen.score, picker.default.score)


def _exact(
    cursor: _Cursor, target: float, previous: Image.Image | None
) -> tuple[_Scored, FrameSelection] | None:
    """Accurate mode: the frame shown at ``target``, scored but never replaced."""
    frame = cursor.step(target, 0.0)
    if frame is None:
        return None
    scored = _score(frame, cursor.time_of(frame), previous)
    return scored, FrameSelection("exact", 1, scored.score, scored.score)


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
        cursor = _Cursor(container, stream, max_pixels, Path(path).name)
        for target, cell in plan:
            if accurate:
                picked = _exact(cursor, target, previous)
            else:
                picked = _pick(cursor, target, cell / 4, info.fps, previous)
            if picked is None:
                continue
            chosen, selection = picked
            previous, pts_time, n = chosen.thumb, chosen.score.time, len(results)
            file = out / f"frame_{n + 1:04d}.jpg"
            width, height = _write(chosen.frame, info, file, max_side, jpeg_quality)
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
