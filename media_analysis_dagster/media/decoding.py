"""Packet-level decoding helpers shared by the scene passes: which packets reach the decoder is
decided by our code, not by the demuxer, so a pass decodes only what it needs.

Damaged packets and read errors do not raise: a damaged packet yields no frame (the decoder
recovers at the next keyframe) and a read error ends the stream, as in `probe.decoded_frames`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from media_analysis_dagster.media.motion import Timeline

if TYPE_CHECKING:
    from av import Packet, VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream

TIMELINE_POINTS = 200


@dataclass
class PassState:
    """What one detection shares between its passes: stream timing, the cut threshold, the
    motion timeline and the cost counters."""

    start: float
    fps: float
    threshold: float
    time_base: float
    timeline: Timeline = field(default_factory=lambda: Timeline(TIMELINE_POINTS))
    decoded: int = 0
    analyzed: int = 0
    end: float = 0.0

    def time(self, pts: int | None) -> float:
        """Seconds from the first frame (``pts`` is never None where this is called)."""
        return (pts or 0) * self.time_base - self.start

    def frames_between(self, a: float, b: float) -> int:
        """Source frames from ``a`` to ``b`` (at least 1)."""
        return max(1, round((b - a) * self.fps))


def decode(stream: VideoStream, packet: Packet | None) -> list[VideoFrame]:
    """Frames out of the decoder after ``packet`` (``None`` drains it)."""
    import av

    try:
        return [f for f in stream.codec_context.decode(packet) if f.pts is not None]
    except av.error.InvalidDataError:
        return []


def packets(container: InputContainer, stream: VideoStream) -> Iterator[Packet]:
    """Non-empty packets of ``stream`` in decoding order."""
    import av

    try:
        for packet in container.demux(stream):
            if packet.size:
                yield packet
    except av.error.FFmpegError:
        return


def is_key(packet: Packet) -> bool:
    """A keyframe the passes can start from (one without a timestamp cannot be placed)."""
    return bool(packet.is_keyframe) and packet.pts is not None


def set_decoder(stream: VideoStream, *, skip: bool, keyframes_only: bool = False) -> None:
    """Frame threads; with ``skip``, no frame that nothing refers to (most B-frames: a third
    to a half of the frames). ``keyframes_only`` (the keyframe pass) also skips deblocking,
    about a third of H.264's decoding time: that is safe only there, since later frames
    predicted from undeblocked pictures drift (64x36 differences of 8-24 after seconds).
    Must be called before the first packet is decoded."""
    stream.thread_type = "AUTO"
    if skip:
        stream.codec_context.skip_frame = "NONREF"
    if keyframes_only:
        stream.codec_context.options = {"skip_loop_filter": "all"}
