"""One small picture per scene, and the strip that lays them out with their start times.

A person scanning a video looks for its scenes first (PySceneDetect's ``save-images`` and
``save-html`` show one picture per scene for that reason), so the step views and the request's
report show one thumbnail per scene start. Encoders put a keyframe at most cuts, and a
keyframe costs one seek and one decode, so a keyframe between the start and ``lead_in`` after it
is taken as it is; otherwise the frame shown ``lead_in`` after the start is decoded (never the
cut's own frame, often the tail of a dissolve). When the picture is dull (dark, as in a fade,
or one flat colour) the middle of the scene is tried once: at most two pictures per scene.

Work is bounded whatever the video: at most ``max_count`` thumbnails (evenly chosen among the
times, the first and last always kept), each at most ``MAX_WIDTH`` wide and never taller than
``MAX_ASPECT`` times its width, read by seeking (``frame_seeking``), never by decoding the whole
file; past ``max_seconds`` only scenes that start on a keyframe get one (measured: 20 scenes of
a 285 s 720p video cut on keyframes in 0.9 s; 72 times that are not keyframes in 36 s, which is
what the budget cuts short).

The strip is one JPEG small enough for Dagster's event log, which stores it with the event: its
quality, then its size, step down until it fits ``max_bytes`` (as a data URL).

Pure media code: paths in, files and pixels out; the labels are the caller's (views and the
report format times their own way).
"""

from __future__ import annotations

import base64
import bisect
import io
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.frame_seeking import FrameCursor
from media_analysis_dagster.media.frame_writing import write_frame
from media_analysis_dagster.media.frames import MAX_FRAME_PIXELS
from media_analysis_dagster.media.probe import VideoInfo, open_video, probe_video

if TYPE_CHECKING:
    from av import VideoFrame
    from PIL import Image, ImageFont

#: Default and bounds of a thumbnail's width (pixels).
DEFAULT_WIDTH = 320
MIN_WIDTH = 32
MAX_WIDTH = 640
#: A thumbnail is at most this many times as tall as it is wide (a 1:1000 video is squeezed).
MAX_ASPECT = 2.0
#: Most thumbnails taken for one video (a report shows each; a strip shows fewer).
MAX_THUMBNAILS = 120
#: Seconds after a scene start the thumbnail is taken (at most a third of the scene).
LEAD_IN_S = 0.5
#: After this long, only scenes whose start is a keyframe get a thumbnail (no decoding through
#: a GOP): scene cuts are usually keyframes, so this bounds only the unusual file.
MAX_SECONDS = 20.0
_INDEX_SLACK_S = 0.25
#: A frame is dull when its mean luma is below DARK_LUMA or its contrast below FLAT_STD.
DARK_LUMA = 24.0
FLAT_STD = 5.0
#: Strip layout: tiles per row, most tiles, tile width; a data URL at most this long.
STRIP_COLUMNS = 6
MAX_STRIP_TILES = 24
STRIP_TILE_WIDTH = 160
STRIP_MAX_BYTES = 60_000
_STRIP_QUALITIES = (80, 70, 60, 50, 40)
_GAP = 4
_BACKGROUND = (24, 24, 24)


@dataclass(frozen=True)
class SceneThumbnail:
    """One written thumbnail: ``index`` is the position of its time in the times given (the
    scene number when those are scene starts), ``time`` that time, ``pts_time`` the
    presentation time of the frame it shows."""

    index: int
    time: float
    pts_time: float
    path: Path
    width: int
    height: int


def pick_evenly(count: int, limit: int) -> list[int]:
    """``limit`` indexes of ``range(count)``, evenly spread, first and last included."""
    if count <= limit:
        return list(range(count))
    if limit <= 1:
        return [0][:limit]
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def _targets(
    times: Sequence[float], bounds: Sequence[float], duration: float, lead_in: float
) -> list[tuple[float, float, float]]:
    """(start, first try, second try) per time: the time clamped into the video, ``lead_in``
    after it (at most a third of the way to the next of ``bounds`` or the end), then the
    middle of that stretch."""
    last = max(duration - 1e-3, 0.0)
    ordered = sorted({min(max(t, 0.0), last) for t in bounds})
    out = []
    for t in times:
        start = min(max(t, 0.0), last)
        i = bisect.bisect_right(ordered, start + 1e-6)
        end = ordered[i] if i < len(ordered) else duration
        span = max(end - start, 0.0)
        first = min(start + min(lead_in, span / 3), last)
        out.append((start, first, min(start + span / 2, last)))
    return out


def _dull(frame: VideoFrame) -> bool:
    """Dark or one flat colour: nothing a person could read in a thumbnail."""
    small = frame.reformat(width=32, height=18, format="gray").to_ndarray()
    return float(small.mean()) < DARK_LUMA or float(small.std()) < FLAT_STD


def _pick(
    cursor: FrameCursor, start: float, first: float, second: float
) -> tuple[VideoFrame, float] | None:
    """The frame shown at ``first``, or at ``second`` when the first is dull and the second
    is not; with its presentation time. A keyframe between ``start`` and the target is taken
    as it is (a cut is usually a keyframe), so most scenes cost one seek and one decode."""
    frame = cursor.step(first, max(first - start, 0.0))
    if frame is None:
        return None
    pts = cursor.time_of(frame)
    if second > pts + 1e-3 and _dull(frame):
        later = cursor.step(second, max(second - pts - 1e-3, 0.0))
        if later is not None and not _dull(later):
            return later, cursor.time_of(later)
    return frame, pts


def _keyframe_inside(cursor: FrameCursor, start: float, target: float) -> bool:
    """Whether the keyframe a seek to ``target`` lands on starts the scene, as far as the
    demuxer's index tells (its times are decode times, a few frames early with B-frames:
    ``_INDEX_SLACK_S``); a seek that lands a little early decodes those few frames."""
    keyframe = cursor.keyframe_before(target)
    return keyframe is not None and keyframe >= start - _INDEX_SLACK_S


def _box(info: VideoInfo, width: int) -> int:
    """Longest side to fit so the thumbnail is ``width`` wide (taller pictures: at most
    MAX_ASPECT times that)."""
    aspect = info.display_width / max(info.display_height, 1)
    return max(1, round(width * min(MAX_ASPECT, max(1.0, 1.0 / max(aspect, 1e-6)))))


def scene_thumbnails(
    video_path: str | Path,
    times: Sequence[float],
    out_dir: str | Path,
    width: int = DEFAULT_WIDTH,
    *,
    lead_in: float = LEAD_IN_S,
    max_count: int = MAX_THUMBNAILS,
    info: VideoInfo | None = None,
    quality: int = 82,
    max_seconds: float = MAX_SECONDS,
) -> list[SceneThumbnail]:
    """Write ``scene_0001.jpg``… (numbered by index) for a frame shortly after each of
    ``times`` (scene starts, seconds from the first frame) and describe them: the keyframe
    between the start and ``lead_in`` after it when there is one, else the frame shown at
    ``lead_in`` after it; the middle of the scene when that one is dull.

    At most ``max_count`` are written (evenly chosen); past ``max_seconds``, only scenes that
    start on a keyframe get one. ``width`` is bounded to MIN_WIDTH..MAX_WIDTH, and a picture
    is never enlarged past the video's own size. Times that are not finite are skipped.
    Raises the media errors of ``probe_video`` for a file that is not a readable video."""
    info = info or probe_video(video_path, max_pixels=MAX_FRAME_PIXELS)
    width = min(max(int(width), MIN_WIDTH), MAX_WIDTH)
    valid = [(i, float(t)) for i, t in enumerate(times) if math.isfinite(t)]
    chosen = [valid[k] for k in pick_evenly(len(valid), max(0, max_count))]
    if not chosen:
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    targets = _targets([t for _, t in chosen], [t for _, t in valid], info.duration, lead_in)
    box, made = _box(info, width), []
    deadline = time.monotonic() + max_seconds
    with open_video(video_path) as (container, stream):
        stream.thread_type = "AUTO"
        ctx = stream.codec_context
        ctx.options = {**ctx.options, "max_pixels": str(MAX_FRAME_PIXELS)}
        cursor = FrameCursor(container, stream, MAX_FRAME_PIXELS, Path(video_path).name)
        for (index, when), (start, first, second) in sorted(
            zip(chosen, targets, strict=True), key=lambda pair: pair[1][1]
        ):
            if time.monotonic() > deadline:
                if not _keyframe_inside(cursor, start, first):
                    continue
                second = first  # no second try either
            picked = _pick(cursor, start, first, second)
            if picked is None:
                continue
            frame, pts = picked
            path = out / f"scene_{index + 1:04d}.jpg"
            w, h = write_frame(frame, info, path, box, quality)
            made.append(SceneThumbnail(index, when, pts, path, w, h))
    return sorted(made, key=lambda t: t.index)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed-size bitmap font
        return ImageFont.load_default()


def _tile(path: Path, width: int, height: int) -> Image.Image:
    """The picture at ``path`` fitted into ``width`` x ``height`` (letterboxed)."""
    from PIL import Image

    canvas = Image.new("RGB", (width, height), _BACKGROUND)
    with Image.open(path) as img:
        img.draft("RGB", (width, height))
        if img.width * img.height > MAX_FRAME_PIXELS:
            return canvas
        picture = img.convert("RGB")
    picture.thumbnail((width, height), Image.Resampling.LANCZOS)
    canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
    return canvas


def build_strip(
    images: Sequence[Path],
    labels: Sequence[str],
    *,
    columns: int = STRIP_COLUMNS,
    tile_width: int = STRIP_TILE_WIDTH,
) -> Image.Image:
    """The pictures as a grid of ``columns`` tiles, each labelled below (at most
    MAX_STRIP_TILES; the caller chooses which). Tiles take the first picture's aspect."""
    from PIL import Image, ImageDraw

    images, labels = list(images)[:MAX_STRIP_TILES], list(labels)[:MAX_STRIP_TILES]
    if not images:
        raise ValueError("A strip needs at least one picture.")
    with Image.open(images[0]) as first:
        aspect = first.height / max(first.width, 1)
    tile_h = max(8, round(tile_width * min(aspect, MAX_ASPECT)))
    font = _font(max(12, tile_width // 11))
    label_h = int(getattr(font, "size", 12)) + 8
    cols = max(1, min(columns, len(images)))
    rows = math.ceil(len(images) / cols)
    cell_h = tile_h + label_h
    strip = Image.new(
        "RGB",
        (cols * tile_width + (cols + 1) * _GAP, rows * cell_h + (rows + 1) * _GAP),
        _BACKGROUND,
    )
    draw = ImageDraw.Draw(strip)
    for slot, (path, label) in enumerate(zip(images, labels, strict=False)):
        r, c = divmod(slot, cols)
        x, y = _GAP + c * (tile_width + _GAP), _GAP + r * (cell_h + _GAP)
        strip.paste(_tile(path, tile_width, tile_h), (x, y))
        draw.text(
            (x + tile_width // 2, y + tile_h + label_h // 2),
            label[:24],
            font=font,
            fill=(235, 235, 235),
            anchor="mm",
        )
    return strip


def jpeg_data_url(image: Image.Image, max_bytes: int = STRIP_MAX_BYTES) -> str:
    """``data:image/jpeg;base64,…`` of at most ``max_bytes`` characters: the quality steps
    down, then the picture shrinks, until it fits (a tiny picture is the last resort)."""
    from PIL import Image

    picture = image.convert("RGB")
    url = ""
    while True:
        for quality in _STRIP_QUALITIES:
            buf = io.BytesIO()
            picture.save(buf, "JPEG", quality=quality, optimize=True)
            url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
            if len(url) <= max_bytes:
                return url
        if max(picture.size) <= 64:
            return url
        size = (max(1, round(picture.width * 0.8)), max(1, round(picture.height * 0.8)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)


def strip_data_url(
    thumbnails: Sequence[SceneThumbnail],
    labels: Sequence[str],
    *,
    max_bytes: int = STRIP_MAX_BYTES,
) -> str:
    """The strip of ``thumbnails`` (labelled by ``labels``) as a data URL within ``max_bytes``."""
    return jpeg_data_url(build_strip([t.path for t in thumbnails], labels), max_bytes)
