"""Contact sheets: Pillow grids of extracted frames, a timestamp on every tile, a header line.

A sheet is what a vision model and a human look at first, so it carries what they need to
reason about time: the file name, duration, resolution and codec on top, and on each tile the
true presentation time of that frame (not the target it was taken for). Every sheet has the
same grid and size, the last one simply leaves cells empty, so downstream consumers can rely
on one layout. Pillow's built-in font is used, so no font file has to be installed.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from media_analysis_dagster.media.frames import ExtractedFrame

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

BACKGROUND = (24, 24, 24)
HEADER_TEXT = (235, 235, 235)
GAP = 4


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


def build_contact_sheets(
    frames: Sequence[ExtractedFrame],
    out_dir: str | Path,
    *,
    header: SheetHeader,
    cols: int = 2,
    rows: int = 3,
    thumb_width: int = 640,
    interval: float | None = None,
) -> list[ContactSheet]:
    """Lay ``frames`` out ``cols`` x ``rows`` per sheet (``sheet_01.jpg``…) and describe them."""
    from PIL import Image, ImageDraw, ImageOps

    if not frames:
        return []
    if cols < 1 or rows < 1:
        raise ValueError("A contact sheet grid needs at least one column and one row.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_sheet = cols * rows
    total = math.ceil(len(frames) / per_sheet)
    first = frames[0]
    thumb_h = max(1, round(thumb_width * first.height / max(first.width, 1)))
    tile_font = _font(max(12, thumb_width // 24))
    head_font = _font(max(14, thumb_width * cols // 48))
    head_h = round(head_font.size * 2) if hasattr(head_font, "size") else 28
    sheet_w = cols * thumb_width + (cols + 1) * GAP
    sheet_h = head_h + rows * thumb_h + (rows + 1) * GAP
    interval = interval if interval is not None else _interval(frames)
    details = (
        f"  |  {format_timestamp(header.duration)}  |  {header.width}x{header.height}"
        f"  |  {header.codec}  |  sheet {total}/{total}"
    )
    name = _fit(header.file_name, details, head_font, sheet_w - 4 * GAP)
    sheets: list[ContactSheet] = []
    for number in range(1, total + 1):
        chunk = frames[(number - 1) * per_sheet : number * per_sheet]
        sheet = Image.new("RGB", (sheet_w, sheet_h), BACKGROUND)
        draw = ImageDraw.Draw(sheet)
        text = name + details.replace(f"sheet {total}/", f"sheet {number}/")
        draw.text((GAP * 2, head_h // 2), text, font=head_font, fill=HEADER_TEXT, anchor="lm")
        for slot, frame in enumerate(chunk):
            r, c = divmod(slot, cols)
            x, y = GAP + c * (thumb_width + GAP), head_h + GAP + r * (thumb_h + GAP)
            with Image.open(frame.path) as img:
                img.draft("RGB", (thumb_width, thumb_h))  # JPEG decodes at reduced scale
                thumb = ImageOps.contain(img.convert("RGB"), (thumb_width, thumb_h))
            sheet.paste(
                thumb, (x + (thumb_width - thumb.width) // 2, y + (thumb_h - thumb.height) // 2)
            )
            stamp = format_timestamp(frame.pts_time)
            _label(draw, (x + thumb_width - 8, y + thumb_h - 8), stamp, tile_font, "rd")
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
                thumbnail_width=thumb_width,
                thumbnail_height=thumb_h,
                frame_indexes=tuple(f.index for f in chunk),
            )
        )
    return sheets


def thumbnail_data_url(path: str | Path, max_side: int = 160) -> str:
    """A few-KB ``data:image/jpeg;base64,…`` preview, small enough for Dagster's event log."""
    from PIL import Image

    with Image.open(path) as img:
        img.thumbnail((max_side, max_side))
        thumb = img.convert("RGB")
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
