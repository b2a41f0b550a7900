"""Scene cuts and motion in one reduced-resolution decode pass; faces on extracted frames.

Scene detection needs every frame, so it is the most expensive video step (DESIGN §4): we decode
once with frame threads, let the decoder drop non-reference frames, scale each picture to a tiny
RGB thumbnail and compare consecutive thumbnails. The mean absolute difference is both the motion
signal and the hard-cut score; a cut must also stand well above the recent motion, so fast
camera moves are not cut. Fades through black are found from the mean brightness, as
PySceneDetect's ThresholdDetector does. Faces use the Haar cascade shipped in the OpenCV wheel,
so nothing is downloaded at run time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.media.probe import decoded_frames, open_video, stream_start

#: A fade is a stretch whose mean brightness (0-255) is below this (PySceneDetect's default).
FADE_LEVEL = 12.0
#: A hard cut must exceed this many times the median motion of the preceding frames.
CUT_OVER_MOTION = 3.0
TIMELINE_POINTS = 200


@dataclass
class SceneMotionResult:
    """Cuts (time of the first frame of each new scene) and a motion summary."""

    cut_times: list[float]
    scores: list[float]
    mean_motion: float
    motion_timeline: list[tuple[float, float]]
    frames_analyzed: int
    analysis_fps: float
    method: str
    cut_kinds: list[str] = field(default_factory=list)


class _Timeline:
    """Motion over time in bounded memory: points are summed into buckets, and when there are
    ``2 * limit`` buckets neighbours merge and buckets double in size."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size = limit, 1
        self.buckets: list[list[float]] = []  # [first time, sum, count]

    def add(self, t: float, value: float) -> None:
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last[2] < self.size:
            last[1] += value
            last[2] += 1
        else:
            self.buckets.append([t, value, 1])
        if len(self.buckets) >= 2 * self.limit:
            pairs = zip(self.buckets[::2], self.buckets[1::2], strict=False)
            self.buckets = [[a[0], a[1] + b[1], a[2] + b[2]] for a, b in pairs]
            self.size *= 2

    def points(self) -> list[tuple[float, float]]:
        """At most ``limit`` (time, mean value) points."""
        b, n = self.buckets, len(self.buckets)
        groups = [b[i * n // self.limit : (i + 1) * n // self.limit] for i in range(self.limit)]
        if n <= self.limit:
            groups = [[x] for x in b]
        return [
            (round(g[0][0], 3), round(sum(x[1] for x in g) / sum(x[2] for x in g), 2))
            for g in groups
            if g
        ]


def _merge(cuts: list[tuple[float, float, str]], min_gap: float) -> list[tuple[float, float, str]]:
    """Keep one cut (the strongest) per ``min_gap`` seconds."""
    kept: list[tuple[float, float, str]] = []
    for cut in sorted(cuts):
        if kept and cut[0] - kept[-1][0] < min_gap:
            if cut[1] > kept[-1][1]:
                kept[-1] = cut
            continue
        kept.append(cut)
    return kept


def detect_scenes_and_motion(
    path: str | Path,
    *,
    threshold: float = 20.0,
    width: int = 64,
    height: int = 36,
    min_scene_len: float = 0.5,
    skip_nonref: bool = True,
) -> SceneMotionResult:
    """One decode pass at ``width`` x ``height``; ``threshold`` is the mean absolute RGB
    difference (0-255) between consecutive thumbnails that counts as a hard cut.

    ``skip_nonref`` lets the decoder drop frames nothing refers to (about a third less work on
    H.264 with B-frames); cuts then land on the first decoded frame, a frame or two late.
    """
    import numpy as np

    cuts: list[tuple[float, float, str]] = []
    timeline = _Timeline(TIMELINE_POINTS)
    recent: deque[float] = deque(maxlen=15)
    prev = None
    frames = 0
    motion_sum, motion_n = 0.0, 0
    fade_start: float | None = None
    first_time = last_time = 0.0
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        if skip_nonref:
            stream.codec_context.skip_frame = "NONREF"
        start = stream_start(stream)
        for frame in decoded_frames(container, stream):
            t = float(frame.time or 0.0) - start
            small = frame.reformat(width=width, height=height, format="rgb24")
            cur = small.to_ndarray().astype(np.int16)
            frames += 1
            first_time = t if frames == 1 else first_time
            last_time = t
            dark = float(cur.mean()) < FADE_LEVEL
            if dark and fade_start is None:
                fade_start = t
            elif not dark and fade_start is not None:
                # Midpoint of the dark stretch, as PySceneDetect (a black intro counts too).
                cuts.append(((fade_start + t) / 2, 0.0, "fade"))
                fade_start = None
            if prev is not None:
                diff = float(np.abs(cur - prev).mean())
                timeline.add(t, diff)
                base = float(np.median(recent)) if recent else 0.0
                if diff >= threshold and diff >= CUT_OVER_MOTION * base:
                    cuts.append((t, diff, "cut"))
                else:
                    motion_sum, motion_n = motion_sum + diff, motion_n + 1
                recent.append(diff)
            prev = cur
    if frames == 0:
        raise CorruptMediaError(f"The video {Path(path).name} has no decodable frame.")
    kept = _merge(cuts, min_scene_len)
    span = last_time - first_time
    return SceneMotionResult(
        cut_times=[round(t, 3) for t, _, _ in kept],
        scores=[round(s, 2) for _, s, _ in kept],
        mean_motion=motion_sum / motion_n if motion_n else 0.0,
        motion_timeline=timeline.points(),
        frames_analyzed=frames,
        analysis_fps=(frames - 1) / span if span > 0 else 0.0,
        method=f"pyav-rgb-mad-{width}x{height}" + ("-nonref" if skip_nonref else ""),
        cut_kinds=[kind for _, _, kind in kept],
    )


def faces_available() -> bool:
    """Whether the installed OpenCV has the Haar cascade detector (4.x does; 5.0 dropped it)."""
    import cv2

    return hasattr(cv2, "CascadeClassifier")


def _cascade_path() -> str:
    import cv2

    if not faces_available():
        raise RuntimeError(
            f"OpenCV {cv2.__version__} has no Haar face detector; install "
            "opencv-python-headless<5 to enable face detection."
        )
    name = "haarcascade_frontalface_default.xml"
    data = getattr(cv2, "data", None)
    if data is not None and (Path(data.haarcascades) / name).is_file():
        return str(Path(data.haarcascades) / name)
    found = next(Path(cv2.__file__).parent.rglob(name), None)
    if found is None:
        raise RuntimeError("The OpenCV face cascade is missing from the installed cv2 package.")
    return str(found)


def detect_faces(image_paths: Sequence[Path], *, max_side: int = 640) -> list[dict[str, Any]]:
    """Frontal faces per image as pixel boxes in the image's own size.

    Images are shrunk to ``max_side`` for speed. An unreadable image gets an ``error`` entry
    instead of failing the others.
    """
    import cv2

    detector = cv2.CascadeClassifier(_cascade_path())
    results: list[dict[str, Any]] = []
    for p in image_paths:
        gray = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            results.append({"path": str(p), "faces": [], "face_count": 0, "error": "unreadable"})
            continue
        h, w = gray.shape
        scale = min(1.0, max_side / max(h, w))
        small = cv2.resize(gray, (round(w * scale), round(h * scale))) if scale < 1 else gray
        small = cv2.equalizeHist(small)
        min_size = max(20, round(min(small.shape) / 12))
        boxes = detector.detectMultiScale(
            small, scaleFactor=1.1, minNeighbors=5, minSize=(min_size, min_size)
        )
        faces = [
            {k: round(float(v) / scale) for k, v in zip("xywh", box, strict=True)} for box in boxes
        ]
        results.append(
            {"path": str(p), "width": w, "height": h, "faces": faces, "face_count": len(faces)}
        )
    return results
