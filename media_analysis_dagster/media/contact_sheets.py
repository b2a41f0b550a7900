"""Contact sheets: Pillow grids of extracted frames, a timestamp on every tile, a header line.

A sheet is what a vision model and a human look at first, so it carries what they need to
reason about time: the file name, duration, resolution and codec on top, and on each tile the
true presentation time of that frame (not the target it was taken for). Every sheet has the
same grid and size, the last one simply leaves cells empty, so downstream consumers can rely
on one layout. Pillow's built-in font is used, so no font file has to be installed.

Sizes are bounded whatever the video's aspect ratio or sample aspect ratio: each picture fits a
``thumb_width`` square box (at most MAX_TILE_BOX) keeping its aspect, no side below
MIN_TILE_SIDE; a cell is never narrower or lower than a quarter of the box (so a label fits);
and the whole sheet stays under MAX_SHEET_PIXELS, the box shrinking until it does.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.errors import MediaLimitError
from media_analysis_dagster.media.frames import ExtractedFrame

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (24, 24, 24)
HEADER_TEXT = (235, 235, 235)
GAP = 4
#: Default and largest side of the square box each tile picture fits in.
TILE_BOX = 640
MAX_TILE_BOX = 1280
#: Shortest side of a tile picture (a 1000:1 frame is squeezed to this rather than vanish).
MIN_TILE_SIDE = 8
#: Smallest box the sheet limit may shrink tiles to before the grid is refused.
MIN_TILE_BOX = 64
#: Narrowest sheet, so the header line stays legible.
MIN_SHEET_WIDTH = 480
#: Largest sheet (pixels): 4096x4096, 64 MB as a Pillow RGB image.
MAX_SHEET_PIXELS = 4096 * 4096
#: Largest frame image opened for a tile (after JPEG draft reduction).
MAX_TILE_SOURCE_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class SheetHeader:
    """What the header line of every sheet says about the video."""

    file_name: str
    duration: float
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class ContactSheet:
    """One written sheet; the fields map onto a ``contact_sheets`` row."""

    path: Path
    sheet_number: int
    total_sheets: int
    grid_cols: int
    grid_rows: int
    frame_count: int
    frames_per_sheet: int
    frame_interval_seconds: float | None
    image_width: int
    image_height: int
    thumbnail_width: int
    thumbnail_height: int
    frame_indexes: tuple[int, ...]
    generation_method: str = "custom"
    frame_times: tuple[float, ...] = ()  # true presentation time of each tile, in order


def format_timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm``, the format printed on tiles and headers."""
    ms = round(max(seconds, 0.0) * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed-size bitmap font
        return ImageFont.load_default()


def _label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font, anchor: str) -> None:
    """Text on a dark box so it stays legible on any picture."""
    box = draw.textbbox(xy, text, font=font, anchor=anchor)
    pad = 3
    draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=(0, 0, 0))
    draw.text(xy, text, font=font, fill=(255, 255, 255), anchor=anchor)


def _fit(name: str, rest: str, font, width: int) -> str:
    """Shorten the file name (never the facts after it) until the header line fits."""
    from PIL import Image, ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    shown = name
    while len(shown) > 1 and draw.textlength(shown + rest, font=font) > width:
        shown = shown[:-1]
    return name if shown == name else shown[:-1] + "…"


def _interval(frames: Sequence[ExtractedFrame]) -> float | None:
    if len(frames) < 2:
        return None
    return (frames[-1].target_time - frames[0].target_time) / (len(frames) - 1)


@dataclass(frozen=True)
class _Layout:
    """Cell and sheet sizes and fonts for one set of sheets."""

    cols: int
    rows: int
    cell_w: int
    cell_h: int
    head_h: int
    tile_font: ImageFont.ImageFont | ImageFont.FreeTypeFont
    head_font: ImageFont.ImageFont | ImageFont.FreeTypeFont

    @property
    def size(self) -> tuple[int, int]:
        w = self.cols * self.cell_w + (self.cols + 1) * GAP
        return w, self.head_h + self.rows * self.cell_h + (self.rows + 1) * GAP

    def origin(self, slot: int) -> tuple[int, int]:
        r, c = divmod(slot, self.cols)
        return GAP + c * (self.cell_w + GAP), self.head_h + GAP + r * (self.cell_h + GAP)


def tile_size(width: int, height: int, box: int) -> tuple[int, int]:
    """A ``width`` x ``height`` picture scaled (up or down) so its longer side is ``box``,
    keeping aspect, each side at least MIN_TILE_SIDE."""
    scale = box / max(width, height, 1)
    return max(MIN_TILE_SIDE, round(width * scale)), max(MIN_TILE_SIDE, round(height * scale))


def _layout(first: ExtractedFrame, cols: int, rows: int, box: int) -> _Layout:
    """The layout for ``box``, shrunk until the sheet is within MAX_SHEET_PIXELS."""
    box = max(MIN_TILE_BOX, min(box, MAX_TILE_BOX))
    while True:
        w, h = tile_size(first.width, first.height, box)
        cell_w = max(w, box // 4, math.ceil((MIN_SHEET_WIDTH - (cols + 1) * GAP) / cols))
        cell_h = max(h, box // 4)
        sheet_w = cols * cell_w + (cols + 1) * GAP
        head_font = _font(max(14, sheet_w // 48))
        head_h = round(head_font.size * 2) if hasattr(head_font, "size") else 28
        tile_font = _font(max(12, min(cell_w // 24, cell_h // 4)))
        layout = _Layout(cols, rows, cell_w, cell_h, head_h, tile_font, head_font)
        pixels = layout.size[0] * layout.size[1]
        if pixels <= MAX_SHEET_PIXELS:
            return layout
        if box <= MIN_TILE_BOX:
            raise MediaLimitError(
                f"A contact sheet of {cols}x{rows} tiles would exceed the limit of "
                f"{MAX_SHEET_PIXELS} pixels per sheet even with {MIN_TILE_BOX}-pixel tiles."
            )
        box = max(MIN_TILE_BOX, math.floor(box * min(0.95, (MAX_SHEET_PIXELS / pixels) ** 0.5)))


def _tile(path: Path, cell: tuple[int, int]) -> Image.Image:
    """The frame image at ``path`` scaled to fit ``cell``; oversize sources are refused."""
    from PIL import Image

    try:
        img = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise MediaLimitError(
            f"The frame image {path.name} has more pixels than Pillow allows."
        ) from exc
    with img:
        img.draft("RGB", cell)  # JPEG decodes at reduced scale
        if img.width * img.height > MAX_TILE_SOURCE_PIXELS:
            raise MediaLimitError(
                f"The frame image {path.name} is {img.width}x{img.height} pixels, more than "
                f"the limit of {MAX_TILE_SOURCE_PIXELS} pixels for a tile."
            )
        w, h = tile_size(img.width, img.height, max(cell))
        scale = min(1.0, cell[0] / w, cell[1] / h)
        size = max(MIN_TILE_SIDE, round(w * scale)), max(MIN_TILE_SIDE, round(h * scale))
        return img.convert("RGB").resize(size, Image.Resampling.BICUBIC)


def build_contact_sheets(
    frames: Sequence[ExtractedFrame],
    out_dir: str | Path,
    *,
    header: SheetHeader,
    cols: int = 2,
    rows: int = 3,
    thumb_width: int = TILE_BOX,
    interval: float | None = None,
) -> list[ContactSheet]:
    """Lay ``frames`` out ``cols`` x ``rows`` per sheet (``sheet_01.jpg``…) and describe them.

    Cells take the first frame's aspect within a ``thumb_width`` square box; other aspects are
    letterboxed. Raises MediaLimitError when the grid cannot fit MAX_SHEET_PIXELS."""
    from PIL import Image, ImageDraw

    if not frames:
        return []
    if cols < 1 or rows < 1:
        raise ValueError("A contact sheet grid needs at least one column and one row.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_sheet = cols * rows
    total = math.ceil(len(frames) / per_sheet)
    lay = _layout(frames[0], cols, rows, thumb_width)
    sheet_w, sheet_h = lay.size
    interval = interval if interval is not None else _interval(frames)
    details = (
        f"  |  {format_timestamp(header.duration)}  |  {header.width}x{header.height}"
        f"  |  {header.codec}  |  sheet {total}/{total}"
    )
    name = _fit(header.file_name, details, lay.head_font, sheet_w - 4 * GAP)
    sheets: list[ContactSheet] = []
    for number in range(1, total + 1):
        chunk = frames[(number - 1) * per_sheet : number * per_sheet]
        sheet = Image.new("RGB", (sheet_w, sheet_h), BACKGROUND)
        draw = ImageDraw.Draw(sheet)
        text = name + details.replace(f"sheet {total}/", f"sheet {number}/")
        draw.text(
            (GAP * 2, lay.head_h // 2), text, font=lay.head_font, fill=HEADER_TEXT, anchor="lm"
        )
        for slot, frame in enumerate(chunk):
            x, y = lay.origin(slot)
            thumb = _tile(frame.path, (lay.cell_w, lay.cell_h))
            sheet.paste(
                thumb, (x + (lay.cell_w - thumb.width) // 2, y + (lay.cell_h - thumb.height) // 2)
            )
            stamp = format_timestamp(frame.pts_time)
            _label(draw, (x + lay.cell_w - 8, y + lay.cell_h - 8), stamp, lay.tile_font, "rd")
        path = out / f"sheet_{number:02d}.jpg"
        sheet.save(path, "JPEG", quality=88)
        sheets.append(
            ContactSheet(
                path=path,
                sheet_number=number,
                total_sheets=total,
                grid_cols=cols,
                grid_rows=rows,
                frame_count=len(chunk),
                frames_per_sheet=per_sheet,
                frame_interval_seconds=interval,
                image_width=sheet_w,
                image_height=sheet_h,
                thumbnail_width=lay.cell_w,
                thumbnail_height=lay.cell_h,
                frame_indexes=tuple(f.index for f in chunk),
                frame_times=tuple(f.pts_time for f in chunk),
            )
        )
    return sheets


#: Data-URL previews: legible (at least PREVIEW_MIN_WIDTH wide), yet small for the event log.
PREVIEW_MAX_SIDE = 640
PREVIEW_MIN_WIDTH = 480
PREVIEW_MAX_BYTES = 60_000
_PREVIEW_QUALITIES = (82, 75, 68, 60, 52, 45, 38, 30)


def _preview_size(width: int, height: int, max_side: int, min_width: int) -> tuple[int, int]:
    """Longest side ``max_side``, unless that makes it narrower than ``min_width`` (a tall
    sheet): then that width, the height capped at four times ``max_side``."""
    scale = min(1.0, max_side / max(width, height, 1))
    floor = min(min_width, max_side, width)
    if width * scale < floor:
        scale = min(floor / width, 4 * max_side / max(height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_data_url(
    path: str | Path,
    max_side: int = PREVIEW_MAX_SIDE,
    *,
    min_width: int = PREVIEW_MIN_WIDTH,
    max_bytes: int = PREVIEW_MAX_BYTES,
) -> str:
    """A ``data:image/jpeg;base64,…`` preview for Dagster's event log, which stores it with
    every event (``docs/architecture.md``): legible, and at most ``max_bytes`` characters — the
    JPEG quality steps down until it fits (the lowest quality is kept if nothing fits)."""
    from PIL import Image

    with Image.open(path) as img:
        size = _preview_size(img.width, img.height, max_side, min_width)
        img.draft("RGB", size)
        if img.width * img.height > MAX_TILE_SOURCE_PIXELS:
            raise MediaLimitError(
                f"The image {Path(path).name} is {img.width}x{img.height} pixels, more than "
                f"the limit of {MAX_TILE_SOURCE_PIXELS} pixels for a preview."
            )
        thumb = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    url = ""
    for quality in _PREVIEW_QUALITIES:
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=quality, optimize=True)
        url = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        if len(url) <= max_bytes:
            break
    return url
