"""Probe a video with PyAV: what frame extraction, contact sheets and the metadata row need.

Probing also decodes the first video frame, because a file whose header parses but whose
frames do not (a truncated upload, a renamed text file) must fail here with a readable reason
rather than later with an empty contact sheet. Limits are checked before that decode so a
decompression bomb is refused without allocating its frames.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    SourceError,
    UnsupportedMediaError,
)

if TYPE_CHECKING:
    from av import VideoFrame
    from av.container import InputContainer
    from av.video.stream import VideoStream


@dataclass(frozen=True)
class VideoInfo:
    """What a player would show: coded size, display size after SAR and rotation, timing."""

    duration: float
    width: int
    height: int
    display_width: int
    display_height: int
    rotation: int
    sample_aspect_ratio: float
    fps: float
    frame_count: int | None
    video_codec: str
    container: str
    bit_rate: int | None
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for metadata rows and Dagster metadata)."""
        return dataclasses.asdict(self)


@contextlib.contextmanager
def open_video(path: str | Path) -> Iterator[tuple[InputContainer, VideoStream]]:
    """Open ``path`` and yield its first real video stream, mapping failures to media errors."""
    import av

    path = Path(path)
    if not path.is_file():
        raise SourceError(f"The media file {path.name} does not exist.")
    if path.stat().st_size == 0:
        raise CorruptMediaError(f"The file {path.name} is empty (0 bytes).")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        why = f" ({exc.strerror})" if exc.strerror else ""
        raise CorruptMediaError(f"The file {path.name} could not be read as media{why}.") from exc
    try:
        attached = av.stream.Disposition.attached_pic
        streams = [s for s in container.streams.video if not (s.disposition & attached)]
        if not streams:
            raise UnsupportedMediaError(f"The file {path.name} has no video stream.")
        yield container, streams[0]
    finally:
        container.close()


def decoded_frames(container: InputContainer, stream: VideoStream) -> Iterator[VideoFrame]:
    """Frames of ``stream`` from the current position, in presentation order; a damaged packet
    is skipped (the decoder recovers at the next keyframe) and a read error ends the stream."""
    import av

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                continue
            yield from (f for f in frames if f.pts is not None)
    except av.error.FFmpegError:
        return


def stream_start(stream: VideoStream) -> float:
    """Start time of the stream in seconds; all our times are relative to it (0 = first frame)."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def rotation_of(stream: VideoStream, frame_rotation: int) -> int:
    """Clockwise display rotation from the display matrix (PyAV reports it counter-clockwise)
    or, for old files, the ``rotate`` tag."""
    if frame_rotation:
        return round(-frame_rotation / 90) * 90 % 360
    tag = stream.metadata.get("rotate", "0")
    try:
        return round(float(tag) / 90) * 90 % 360
    except ValueError:
        return 0


def _duration(container: InputContainer, stream: VideoStream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    # No duration in the header (raw streams): read packet timestamps, which decodes nothing.
    last = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = end if last is None else max(last, end)
    container.seek(0)
    return max(0.0, (last or 0.0) - stream_start(stream))


def longest_duration(container: InputContainer) -> float:
    """The longest duration the headers claim, over the container and every stream.

    A limit checked on one stream only is a limit on that stream: a one-second video can carry
    a seven-hour audio track, and the audio branch would decode all of it. Headers can also
    understate; the decoders (``audio.extract_wav``) bound what they actually produce.
    """
    longest = (container.duration or 0) / 1_000_000
    for stream in container.streams:
        if stream.duration and stream.time_base:
            longest = max(longest, float(stream.duration * stream.time_base))
    return longest


def _check_size(name: str, width: int, height: int, max_pixels: int) -> None:
    """Refuse a picture size that is missing (a header the demuxer rejected) or too large, before
    a frame of that size is allocated."""
    if width <= 0 or height <= 0:
        raise CorruptMediaError(f"The video {name} declares no valid picture size.")
    if width * height > max_pixels:
        raise MediaLimitError(
            f"The video {name} is {width}x{height} pixels, more than the limit of "
            f"{max_pixels} pixels per frame."
        )


def probe_video(
    path: str | Path, *, max_duration: float = 6 * 3600, max_pixels: int = 8192 * 8192
) -> VideoInfo:
    """Describe the video at ``path`` after checking limits and decoding its first frame."""
    import av

    name = Path(path).name
    with open_video(path) as (container, stream):
        ctx = stream.codec_context
        width, height = ctx.width, ctx.height
        _check_size(name, width, height, max_pixels)
        duration = _duration(container, stream)
        longest = max(duration, longest_duration(container))
        if longest > max_duration:
            what = "" if duration >= longest else " has a stream that"
            raise MediaLimitError(
                f"The video {name}{what} lasts {longest:.0f} s, longer than the limit of "
                f"{max_duration:.0f} s."
            )
        try:
            first = next(iter(container.decode(stream)), None)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(
                f"The video {name} could not be decoded; it may be damaged or truncated."
            ) from exc
        if first is None:
            raise CorruptMediaError(
                f"The video {name} has no decodable frame; it may be truncated."
            )
        _check_size(name, first.width, first.height, max_pixels)  # the bitstream's own size
        rotation = rotation_of(stream, first.rotation)
        sar_r = stream.sample_aspect_ratio or ctx.sample_aspect_ratio
        sar = float(sar_r) if sar_r else 1.0
        display_w, display_h = max(1, round(width * sar)), height
        if rotation in (90, 270):
            display_w, display_h = display_h, display_w
        # ffmpeg's guess: r_frame_rate unless absurd (an AVI's average rate can be 600)
        rate = stream.guessed_rate or stream.average_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        audio = next(iter(container.streams.audio), None)
        actx = audio.codec_context if audio is not None else None
        return VideoInfo(
            duration=duration,
            width=width,
            height=height,
            display_width=display_w,
            display_height=display_h,
            rotation=rotation,
            sample_aspect_ratio=sar,
            fps=fps,
            frame_count=stream.frames or None,
            video_codec=ctx.name,
            container=container.format.name,
            bit_rate=container.bit_rate or None,
            has_audio=audio is not None,
            audio_codec=actx.name if actx is not None else None,
            audio_sample_rate=(actx.sample_rate or None) if actx is not None else None,
            audio_channels=(actx.channels or None) if actx is not None else None,
        )
