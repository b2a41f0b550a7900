"""How pictures change: tiny thumbnails, their differences, and motion over time.

Scene and motion analysis compare pictures at 64x36. Scaling a 720p frame that small with
swscale to RGB costs 1-3 ms (as much as decoding it), so the planes of 8-bit planar YUV frames
are box-filtered with OpenCV (about 0.4 ms) and the 64x36 result converted to RGB, keeping the
0-255 RGB scale of the thresholds; other pixel formats go through swscale. Motion is kept as a
time-weighted mean, because it is measured unevenly: every frame where the scene detector
decoded a stretch, one sample per keyframe interval elsewhere. The timeline stays within a
fixed number of buckets whatever the length of the video.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from av import VideoFrame

THUMB_W, THUMB_H = 64, 36
#: Pixel formats averaged with numpy: name -> (chroma x subsampling, y subsampling, full range).
_PLANAR = {
    "yuv420p": (2, 2, False),
    "yuvj420p": (2, 2, True),
    "yuv422p": (2, 1, False),
    "yuvj422p": (2, 1, True),
    "yuv444p": (1, 1, False),
    "yuvj444p": (1, 1, True),
}


def _plane(frame: VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    data = np.frombuffer(memoryview(plane), np.uint8, count=plane.line_size * plane.height)
    return data.reshape(plane.height, plane.line_size)[:, : plane.width]


def _box(plane: np.ndarray) -> np.ndarray:
    """Box-filter a plane down to the thumbnail size. Rows are first decimated to about five per
    thumbnail row (a strided view, no copy): a quarter of the work on 720p, differences of
    0.2/255 from the full box filter."""
    import cv2

    step = max(1, plane.shape[0] // (THUMB_H * 5))
    small = cv2.resize(plane[::step], (THUMB_W, THUMB_H), interpolation=cv2.INTER_AREA)
    return small.astype(np.float32)


def thumbnail(frame: VideoFrame) -> np.ndarray:
    """A ``THUMB_H`` x ``THUMB_W`` x 3 float32 RGB picture (0-255) of the coded frame."""
    layout = _PLANAR.get(frame.format.name)
    if layout is None or frame.width < THUMB_W or frame.height < THUMB_H:
        small = frame.reformat(width=THUMB_W, height=THUMB_H, format="rgb24", interpolation="AREA")
        return small.to_ndarray().astype(np.float32)
    y = _box(_plane(frame, 0))
    u = _box(_plane(frame, 1)) - 128.0
    v = _box(_plane(frame, 2)) - 128.0
    if layout[2]:  # full range (JPEG)
        r, g, b = y + 1.402 * v, y - 0.344 * u - 0.714 * v, y + 1.772 * u
    else:  # BT.601 limited range, as swscale converts by default
        y = 1.164 * (y - 16.0)
        r, g, b = y + 1.596 * v, y - 0.392 * u - 0.813 * v, y + 2.017 * u
    return np.clip(np.dstack([r, g, b]), 0.0, 255.0)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, 0-255."""
    return float(np.abs(a - b).mean())


def colour_histogram(thumb: np.ndarray, levels: int = 4) -> np.ndarray:
    """Pixel counts of a thumbnail's colours, ``levels`` per RGB channel."""
    q = np.minimum((thumb * (levels / 256.0)).astype(np.intp), levels - 1)
    index = (q[..., 0] * levels + q[..., 1]) * levels + q[..., 2]
    return np.bincount(index.ravel(), minlength=levels**3)


def histogram_change(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the pixels (0-1) that would have to change colour for two colour histograms to
    be equal."""
    return float(np.abs(a - b).sum()) / (2 * max(int(a.sum()), 1))


def colour_change(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the pixels (0-1) that would have to change colour for the two thumbnails to have
    the same colour histogram. Unlike `mad`, it hardly moves when the camera pans or zooms over
    one scene, so it compares pictures seconds apart."""
    return histogram_change(colour_histogram(a), colour_histogram(b))


def brightness(thumb: np.ndarray) -> float:
    """Mean of the RGB values, 0-255 (what the fade level is compared with)."""
    return float(thumb.mean())


class Timeline:
    """Time-weighted values in equal time buckets; when a value lands past ``2 * limit`` buckets,
    neighbours merge and the bucket width doubles, so memory is bounded by ``limit``."""

    def __init__(self, limit: int, width: float = 0.04) -> None:
        self.limit, self.width = limit, width
        self.buckets: dict[int, list[float]] = {}  # index -> [value * seconds, seconds]

    def add(self, start: float, end: float, value: float) -> None:
        """Spread ``value`` over ``[start, end)`` (a point when ``end <= start``)."""
        start = max(0.0, start)
        end = max(end, start + 1e-6)
        while end / self.width > 2 * self.limit:
            merged: dict[int, list[float]] = {}
            for idx, (total, weight) in self.buckets.items():
                slot = merged.setdefault(idx // 2, [0.0, 0.0])
                slot[0] += total
                slot[1] += weight
            self.buckets, self.width = merged, self.width * 2
        for idx in range(int(start // self.width), math.ceil(end / self.width)):
            overlap = min(end, (idx + 1) * self.width) - max(start, idx * self.width)
            if overlap > 0:
                slot = self.buckets.setdefault(idx, [0.0, 0.0])
                slot[0] += value * overlap
                slot[1] += overlap

    def mean(self) -> float:
        """The time-weighted mean of everything added."""
        weight = sum(w for _, w in self.buckets.values())
        return sum(t for t, _ in self.buckets.values()) / weight if weight else 0.0

    def points(self) -> list[tuple[float, float]]:
        """At most ``limit`` (start time, mean value) points, in time order."""
        keys = sorted(k for k, (_, w) in self.buckets.items() if w > 0)
        n = len(keys)
        groups = [keys[i * n // self.limit : (i + 1) * n // self.limit] for i in range(self.limit)]
        points = []
        for group in groups if n > self.limit else [[k] for k in keys]:
            if group:
                total = sum(self.buckets[k][0] for k in group)
                weight = sum(self.buckets[k][1] for k in group)
                points.append((round(group[0] * self.width, 3), round(total / weight, 2)))
        return points
