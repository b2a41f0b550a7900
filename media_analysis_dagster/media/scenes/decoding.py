"""Packet-level decoding helpers shared by the scene passes: which packets reach the decoder is
decided by our code, not by the demuxer, so a pass decodes only what it needs.

Damaged packets and read errors do not raise: a damaged packet yields no frame (the decoder
recovers at the next keyframe) and a read error ends the stream, as in `probe.decoded_frames`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from media_analysis_dagster.media.scenes.motion import Timeline

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


def set_decoder(
    stream: VideoStream, *, skip: bool, keyframes_only: bool = False, threads: int = 0
) -> None:
    """How the passes decode; must be called before the first packet is decoded.

    - ``skip``: no frame that nothing refers to (most B-frames: a third to a half of them).
    - ``keyframes_only`` (the keyframe pass) also skips deblocking, about a third of H.264's
      decoding time: safe only there, since later frames predicted from undeblocked pictures
      drift (64x36 differences of 8-24 after seconds, and false cuts where a keyframe resets it).
    - H.264 is decoded with FFmpeg's ``flags2=+fast``: 12 % less time, and the thumbnails of the
      benchmark videos were bit-identical (it only relaxes checks such conformant streams pass).
    - ``threads``: decoder threads (0: FFmpeg's choice, about one per core). The fine pass runs
      one decoder per core with one thread each: less waiting than frame threads (12.9 s
      instead of 14.7 s on 10 minutes of 720p).
    """
    if threads == 1:
        stream.thread_type, stream.thread_count = "NONE", 1
    else:
        stream.thread_type, stream.thread_count = "AUTO", threads
    if skip:
        stream.codec_context.skip_frame = "NONREF"
    options: dict[str, str] = {}
    if stream.codec_context.name == "h264":
        options["flags2"] = "+fast"
    if keyframes_only:
        options["skip_loop_filter"] = "all"
    if options:
        stream.codec_context.options = options
