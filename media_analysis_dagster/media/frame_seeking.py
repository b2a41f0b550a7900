"""Seeking and decoding for frame extraction: a cursor over one video stream.

A seek lands on the keyframe at or before a time, and decoding forward from there reaches any
later frame; when the next target lies ahead in the GOP already being decoded, decoding on is
cheaper than seeking back, so the cursor remembers where it is. Only the last returned frame and
one look-ahead frame are held. For the frame choice (`frame_quality`) it also lists the keyframes
of a window from the demuxer's index, with their compressed sizes, grabs one, and scans forward
within a budget of decoded frames. The decoder is told the per-frame pixel limit, and a picture over
it (refused by the decoder, or decoded by one that ignores the option) raises MediaLimitError
before it can inflate memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
#: Frames decoding forward may cost before grabbing the keyframe after the target is cheaper.
_GRAB_FRAMES = 8
#: Keyframes listed at most on each side of a target.
_KEYFRAMES_PER_SIDE = 8


@dataclass(frozen=True)
class Keyframe:
    """A keyframe from the demuxer's index: its time (a decode time, within a frame or two of
    the picture's), its index timestamp and its compressed size in bytes (which follows how
    much detail the picture holds: a black frame with a watermark is a few kB)."""

    time: float
    timestamp: int
    size: int


def _decoded(
    container: InputContainer,
    stream: VideoStream,
    max_pixels: int,
    name: str,
    *,
    one_picture: bool = False,
) -> Iterator[VideoFrame]:
    """Frames of ``stream`` from the current position, in presentation order; a damaged packet
    is skipped, a read error ends the stream, a picture over ``max_pixels`` (refused by the
    decoder, or decoded by one that ignores the option) raises MediaLimitError.

    ``one_picture``: only the first picture, as soon as its packet is read. A decoder with
    frame threads holds a picture back until it has been given as many more packets as it
    has threads; draining it after a keyframe's packet gives that keyframe alone, without
    decoding the frames after it (the decoder is then only usable after the next seek).
    """
    import av

    ctx, start = stream.codec_context, stream_start(stream)
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                frames = []
            if one_picture and not frames and packet.is_keyframe and packet.pts is not None:
                frames = ctx.decode(None)
                for f in frames:
                    f.pts = packet.pts if f.pts is None else f.pts
                    f.time_base = f.time_base or packet.time_base
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
            shown = [f for f in frames if f.pts is not None]
            if one_picture and shown:
                yield shown[0]
                return
            yield from shown
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
        self.pulled = 0  # frames taken from the decoder so far (a search's budget counts them)
        rate = stream.average_rate or stream.guessed_rate
        self.frame_duration = float(1 / rate) if rate else 1 / 30

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
            else:
                self.pulled += 1
        if frame is not None and self.observer is not None:
            self.observer(frame, self.time_of(frame))
        return frame

    def _take(self, frame: VideoFrame) -> VideoFrame:
        self._current, self.position = frame, self.time_of(frame)
        return frame

    def _seek(self, time: float, offset: int | None = None, *, one_picture: bool = False) -> None:
        """Seek to the keyframe at or before ``time``, or at or after the index timestamp
        ``offset`` (demuxers may shift a requested time by the B-frame delay, an index
        timestamp searched forward lands on its own keyframe)."""
        forward = offset is not None
        if offset is None and time > 0:
            offset = int((time + self.start) / self.time_base)
        elif offset is None:  # seeking to the start time itself can land late (MPEG-TS)
            offset = min(self.stream.start_time or 0, 0)
        self.container.seek(offset, backward=not forward, stream=self.stream)
        self._frames = _decoded(
            self.container, self.stream, self.max_pixels, self.name, one_picture=one_picture
        )
        self._pending = self._current = None

    def _keyframe(self, time: float, backward: bool) -> Keyframe | None:
        """The keyframe at or before (``backward``) or after ``time`` from the demuxer's index,
        or None (no index, no such keyframe)."""
        ts = int((time + self.start) / self.time_base) + (0 if backward else 1)
        return self._index_keyframe(ts, backward)

    def _index_keyframe(self, ts: int, backward: bool) -> Keyframe | None:
        try:
            entries = self.stream.index_entries
            if not len(entries):
                return None
            i = entries.search_timestamp(ts, backward=backward)
            if i < 0 and not backward:
                return None
            entry = entries[max(i, 0)]
            time = float(entry.timestamp * self.time_base) - self.start
            return Keyframe(time, entry.timestamp, entry.size)
        except AttributeError:  # PyAV before index_entries
            return None

    def keyframe_before(self, target: float) -> float | None:
        found = self._keyframe(target, backward=True)
        return None if found is None else found.time

    def keyframe_size(self, time: float) -> int | None:
        """Compressed size of the keyframe whose picture shows at ``time``."""
        found = self._keyframe(time + 2 * self.frame_duration, backward=True)
        return None if found is None else found.size

    def keyframes_between(self, low: float, high: float, around: float) -> list[Keyframe]:
        """Keyframes of the index in ``[low, high]``, up to _KEYFRAMES_PER_SIDE on each side of
        ``around`` (the nearest ones)."""
        found: dict[int, Keyframe] = {}
        for backward in (True, False):
            key = self._keyframe(around, backward)
            for _ in range(_KEYFRAMES_PER_SIDE):
                if key is None or not low - 1e-6 <= key.time <= high + 1e-6:
                    break
                found[key.timestamp] = key
                key = self._index_keyframe(key.timestamp + (-1 if backward else 1), backward)
                if key is not None and key.timestamp in found:
                    break
        return sorted(found.values(), key=lambda k: k.time)

    def grab_keyframe(self, key: Keyframe) -> VideoFrame | None:
        """Seek to ``key`` and decode its picture alone (one seek, one picture: the cheapest
        frame). Decoding on needs a new seek."""
        self._seek(key.time, offset=key.timestamp, one_picture=True)
        frame = self._pull()
        self._frames = None
        return None if frame is None else self._take(frame)

    def scan(self, until: float, max_frames: int, stop: Callable[[], bool]) -> None:
        """Decode forward (every frame shown to ``observer``) up to ``until``, at most
        ``max_frames`` frames, or until ``stop()`` says enough."""
        pulled = 0
        while pulled < max_frames and not stop() and (frame := self._pull()) is not None:
            pulled += 1
            if self.time_of(frame) > until + 1e-6:
                self._pending = frame
                return
            self._take(frame)

    def scan_at(
        self,
        time: float,
        until: float,
        max_frames: int,
        stop: Callable[[], bool],
        *,
        free_skip: bool = False,
    ) -> None:
        """`scan` from the keyframe at or before ``time`` (seeking there first). The frames
        before ``time`` count in ``max_frames`` unless ``free_skip``; when they alone would
        use it up, nothing is done. Without an index, _CONTINUE_WITHOUT_INDEX seconds before
        ``time`` are allowed on top (and how far a late-landing seek had to step back)."""
        key = self._keyframe(time, backward=True)
        span = time - key.time if key is not None else _CONTINUE_WITHOUT_INDEX
        skipped = round(max(0.0, span) / self.frame_duration)
        if key is not None and not free_skip and skipped >= max_frames:
            return
        if free_skip or key is None:
            max_frames += skipped
        back = self._seek_not_after(time, key)
        if back is not None:
            self.scan(until, max_frames + round(back / self.frame_duration), stop)

    def _seek_not_after(self, time: float, key: Keyframe | None) -> float | None:
        """Seek to ``key`` (or to ``time``) so that the first frame is not after ``time``: a
        demuxer may land late (MPEG-TS by seconds, whatever its index says), so the seek is
        retried at ``time``, then 1, 2, 4 s… earlier. The first frame is left to be pulled
        again. Returns how far back the seek went, or None (nothing decodable)."""
        back, by_key = 0.0, key is not None
        for _ in range(9):
            if by_key and key is not None:
                self._seek(key.time, offset=key.timestamp)
            else:
                self._seek(max(0.0, time - back))
            first = self._pull()
            if first is not None and (self.time_of(first) <= time + 1e-6 or time - back <= 0):
                self._pending = first
                return back
            if time - back <= 0:
                return None
            if by_key:
                by_key = False
            else:
                back = max(1.0, back * 2)
        return None

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
        """The plain default-mode (or accurate, tolerance 0) frame for ``target``: decoding on
        in the GOP being decoded, else the keyframe before the target when within
        ``tolerance``, else the keyframe after it when within ``tolerance`` (cheaper than
        decoding forward), else the frame at the target, decoded from the keyframe before."""
        before = self._keyframe(target, backward=True)
        after = self._keyframe(target, backward=False) if tolerance > 0 else None
        if after is not None and after.time - target > tolerance:
            after = None
        before_time = before.time if before is not None else None
        if self.live and _same_gop(before_time, self.position, target):
            forward = (target - self.position) / self.frame_duration
            if after is None or forward <= _GRAB_FRAMES:
                return self.decode_to(target)
            return self.grab_keyframe(after)
        near = before if before is not None and target - before.time <= tolerance else None
        for key in (near, after):
            frame = self.grab_keyframe(key) if key is not None else None
            if frame is not None and abs(self.time_of(frame) - target) <= tolerance:
                return frame
        return self.seek_near(target, tolerance)


def _same_gop(keyframe: float | None, position: float, target: float) -> bool:
    """Whether decoding forward from ``position`` reaches ``target`` without passing the
    keyframe before it, which a seek would land on instead."""
    if position > target:
        return False
    if keyframe is None:
        return target - position <= _CONTINUE_WITHOUT_INDEX
    return keyframe <= position
