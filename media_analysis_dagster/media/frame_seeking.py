"""Seeking and decoding for frame extraction: a cursor over one video stream.

A seek lands on the keyframe at or before a time, and decoding forward from there reaches any
later frame; when the next target lies ahead in the GOP already being decoded, decoding on is
cheaper than seeking back, so the cursor remembers where it is. Only the last returned frame and
one look-ahead frame are held. The decoder is told the per-frame pixel limit, and a picture over
it (refused by the decoder, or decoded by one that ignores the option) raises MediaLimitError
before it can inflate memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

from media_analysis_dagster.media.errors import MediaLimitError
from media_analysis_dagster.media.probe import stream_start

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

#: Without a seek index, keep decoding forward rather than seek when the target is this close.
_CONTINUE_WITHOUT_INDEX = 2.0


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


class FrameCursor:
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
