"""Writing a decoded frame as a player shows it: display aspect, rotation, a bounded size.

Written frames fit ``max_side`` keeping the display aspect, but no side is below
``MIN_FRAME_SIDE``, so a 1000:1 pixel aspect cannot make a 1-pixel or a 64000-pixel picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.probe import VideoInfo

if TYPE_CHECKING:
    from av import VideoFrame

#: Shortest side of a written frame; extreme aspect ratios are squeezed to this, not below.
MIN_FRAME_SIDE = 8


def fit_size(width: float, height: float, box: int) -> tuple[int, int]:
    """Scale to fit a ``box`` square keeping aspect, each side at least MIN_FRAME_SIDE."""
    scale = min(1.0, box / max(width, height, 1))
    return max(MIN_FRAME_SIDE, round(width * scale)), max(MIN_FRAME_SIDE, round(height * scale))


def output_size(frame: VideoFrame, info: VideoInfo, max_side: int) -> tuple[int, int]:
    """Size to scale the decoded picture to (before rotation): display aspect, fit in max_side."""
    return fit_size(frame.width * info.sample_aspect_ratio, frame.height, max_side)


def write_frame(
    frame: VideoFrame, info: VideoInfo, path: Path, max_side: int, quality: int
) -> tuple[int, int]:
    """Save the frame as a player shows it (display aspect, rotated); return the JPEG's size."""
    from PIL import Image

    w, h = output_size(frame, info, max_side)
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
