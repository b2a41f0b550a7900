"""Images with known text, made at test time: printed pages, scans of them, captioned frames.

The OCR tests and ``benchmarks.ocr`` read these and compare what was read with what was drawn
(`char_accuracy`). Pages are rendered like a word processor prints them (A4, 11 pt, margins)
at a chosen dpi; a "scan" adds what a flatbed and a phone add (a slight rotation, blur, sensor
noise, JPEG artefacts, a grey paper tone). Frames are real photographs from scikit-image
(``skimage.data``: astronaut, coffee, rocket, ...) scaled to a video size, with a caption
burned in the way subtitles, lower thirds and titles are: plain, outlined or on a band.

Fonts: DejaVu where the system has it (Debian's ``fonts-dejavu-core``), else the FreeType font
Pillow ships (``ImageFont.load_default(size)``), so a fresh clone needs no apt step.
"""

from __future__ import annotations

import io
import random
import re
import struct
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))

#: Paragraphs of ordinary prose (with digits and punctuation, as real pages have).
PAGE_TEXT = (
    "The river runs through the old town and the new harbour. Every morning the fishermen "
    "bring their boats back, and the market opens at 6:30 when the bells ring. Visitors come "
    "for the fish, but they stay for the quiet streets and the view from the north bridge.",
    "In 2023 the council spent 4.2 million on the quay walls; the work took 18 months and "
    "closed two of the five piers. Traders were paid a weekly allowance of 350 while the "
    "market moved to the square behind the church (see the notice of 12 March).",
    "Questions about the new opening hours, parking permits or stall rents go to the harbour "
    "office, which answers letters within ten working days. Please quote your permit number "
    "and the name of your boat in every letter.",
)
GERMAN_TEXT = (
    "Der Fluss fließt durch die alte Stadt und den neuen Hafen. Jeden Morgen bringen die "
    "Fischer ihre Boote zurück, und der Markt öffnet, wenn die Glocken läuten."
)
FRENCH_TEXT = (
    "La rivière traverse la vieille ville et le nouveau port. Chaque matin, les pêcheurs "
    "ramènent leurs bateaux, et le marché ouvre quand les cloches sonnent."
)
#: Captions as burned-in subtitles, titles and lower thirds say them.
CAPTIONS = (
    "Welcome to the harbour festival",
    "Chapter 2: The morning market",
    "Interview with the harbour master",
    "Sales grew 35% in 2024",
    "Thank you for watching",
    "Live from the north bridge",
)
#: Photographs that ship inside scikit-image (no download).
PHOTOS = ("astronaut", "coffee", "rocket", "chelsea", "hubble_deep_field", "immunohistochemistry")


def font(size_px: int, *, bold: bool = False) -> Any:
    """A TrueType font ``size_px`` pixels high: DejaVu Sans where installed, else Pillow's own."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in _FONT_DIRS:
        if (folder / name).exists():
            return ImageFont.truetype(str(folder / name), size_px)
    return ImageFont.load_default(size=size_px)


def render_page(
    paragraphs: tuple[str, ...] | list[str] = PAGE_TEXT,
    *,
    dpi: int = 200,
    font_pt: float = 11.0,
    columns: int = 80,
) -> tuple[Image.Image, str]:
    """An A4 page (greyscale) with ``paragraphs`` wrapped at ``columns`` characters, and the
    text exactly as drawn (lines joined by newlines, paragraphs by blank lines). Lines that
    would run past the bottom margin are not drawn (nor returned)."""
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    size_px = round(font_pt / 72 * dpi)
    face = font(size_px)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin, y = round(dpi * 0.9), round(dpi * 1.0)
    drawn: list[str] = []
    bottom = height - round(dpi * 1.0) - size_px
    for paragraph in paragraphs:
        for line in textwrap.wrap(paragraph, columns):
            if y > bottom:
                return page, "\n".join(drawn).strip()
            draw.text((margin, y), line, fill=20, font=face)
            drawn.append(line)
            y += round(size_px * 1.5)
        drawn.append("")
        y += size_px
    return page, "\n".join(drawn).strip()


def scan(
    page: Image.Image,
    *,
    rotate_deg: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
    jpeg_quality: int | None = None,
    paper: int = 255,
    seed: int = 0,
) -> Image.Image:
    """``page`` as a scanner returns it: rotated (white fill), blurred (Gaussian radius in
    pixels), grey paper, Gaussian sensor noise (standard deviation in grey levels), then
    JPEG-compressed at ``jpeg_quality``."""
    image = page.convert("L")
    if paper < 255:
        image = image.point(lambda v: round(v * paper / 255))
    if rotate_deg:
        image = image.rotate(rotate_deg, resample=Image.Resampling.BICUBIC, fillcolor=paper)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        rng = np.random.default_rng(seed)
        pixels = np.asarray(image, dtype=np.float32)
        pixels += rng.normal(0.0, noise, pixels.shape).astype(np.float32)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if jpeg_quality is not None:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=jpeg_quality)
        buffer.seek(0)
        image = Image.open(buffer)
        image.load()
    return image


def photo(name: str = "astronaut", size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """A scikit-image photograph scaled and cropped to fill ``size`` (RGB)."""
    from skimage import data

    pixels = getattr(data, name)()
    image = Image.fromarray(pixels).convert("RGB")
    scale = max(size[0] / image.width, size[1] / image.height)
    scaled = image.resize((round(image.width * scale), round(image.height * scale)))
    left, top = (scaled.width - size[0]) // 2, (scaled.height - size[1]) // 2
    return scaled.crop((left, top, left + size[0], top + size[1]))


@dataclass(frozen=True)
class CaptionStyle:
    """How a caption is burned in: text colour, size (fraction of the frame height), where,
    and behind it nothing, an outline (subtitles) or a solid band (lower thirds)."""

    color: tuple[int, int, int] = (255, 255, 255)
    height: float = 0.05
    position: str = "bottom"  # 'bottom' | 'top' | 'middle'
    outline: tuple[int, int, int] | None = (0, 0, 0)
    band: tuple[int, int, int] | None = None
    bold: bool = True


#: Caption looks seen in real videos: white subtitles, yellow subtitles, a title, lower thirds.
CAPTION_STYLES = {
    "white subtitle": CaptionStyle(),
    "yellow subtitle": CaptionStyle(color=(255, 230, 0), height=0.045),
    "large title": CaptionStyle(height=0.09, position="middle", outline=(0, 0, 0)),
    "small plain": CaptionStyle(height=0.035, outline=None, color=(255, 255, 255)),
    "yellow on blue band": CaptionStyle(color=(255, 220, 0), outline=None, band=(20, 40, 150)),
    "black on white band": CaptionStyle(color=(0, 0, 0), outline=None, band=(245, 245, 245)),
}


def _caption_layout(
    size: tuple[int, int], caption: str, style: CaptionStyle
) -> tuple[Any, int, tuple[int, int], tuple[int, int, int, int]]:
    """(font, stroke width, where to draw, the drawn text's bounding box) for a caption."""
    width, height = size
    size_px = max(8, round(height * style.height))
    face = font(size_px, bold=style.bold)
    stroke = max(1, size_px // 12) if style.outline is not None else 0
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    bbox = probe.textbbox((0, 0), caption, font=face, stroke_width=stroke)
    left, top, right, bottom = (round(v) for v in bbox)
    x = (width - (right - left)) // 2 - left
    y = {
        "bottom": round(height * 0.88) - (bottom - top),
        "top": round(height * 0.06),
        "middle": (height - (bottom - top)) // 2,
    }[style.position] - top
    return face, stroke, (x, y), (x + left, y + top, x + right, y + bottom)


def captioned_frame(
    background: Image.Image, caption: str, style: CaptionStyle = CaptionStyle()
) -> Image.Image:
    """``background`` (copied) with ``caption`` drawn centred in ``style``."""
    frame = background.convert("RGB").copy()
    draw = ImageDraw.Draw(frame)
    face, stroke, origin, (left, top, right, bottom) = _caption_layout(frame.size, caption, style)
    if style.band is not None:
        pad = max(8, round(frame.height * style.height)) // 2
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=style.band)
    draw.text(
        origin, caption, fill=style.color, font=face,
        stroke_width=stroke, stroke_fill=style.outline,
    )  # fmt: skip
    return frame


def caption_box(
    size: tuple[int, int], caption: str, style: CaptionStyle = CaptionStyle()
) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the caption `captioned_frame` draws on a frame of ``size``."""
    return _caption_layout(size, caption, style)[3]


def text_in_region(
    lines: list[tuple[str, Any]], region: tuple[int, int, int, int], *, margin: float = 0.5
) -> str:
    """The lines (text, four corners) whose centre lies in ``region`` widened by ``margin``
    times its height on every side, top to bottom: what was read where a caption was drawn
    (text elsewhere in a photograph, a name tag say, is not the caption's)."""
    left, top, right, bottom = region
    pad = (bottom - top) * margin
    inside = []
    for text, box in lines:
        cx = sum(x for x, _ in box) / len(box)
        cy = sum(y for _, y in box) / len(box)
        if left - pad <= cx <= right + pad and top - pad <= cy <= bottom + pad:
            inside.append((cy, cx, text))
    return " ".join(text for _, _, text in sorted(inside))


def noise_image(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """Uniform RGB noise: no text, plenty of edges (a hostile input for a text detector)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def random_words(count: int, *, seed: int = 0) -> str:
    """``count`` words of the page text in a shuffled order (text nobody could guess)."""
    words = " ".join(PAGE_TEXT).split()
    rng = random.Random(seed)
    return " ".join(rng.choice(words) for _ in range(count))


_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Whitespace collapsed to single spaces: line breaks and indentation are layout, not text."""
    return _SPACE.sub(" ", text).strip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), in O(len(a) * len(b)) with
    numpy rows, fast enough for a page."""
    if not a or not b:
        return max(len(a), len(b))
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    offsets = np.arange(len(b) + 1, dtype=np.int64)
    previous = offsets.copy()
    for i, char in enumerate(a, start=1):
        cost = (codes_b != ord(char)).astype(np.int64)
        current = np.empty_like(previous)
        current[0] = i
        # substitution and deletion first, then insertion along the row (a running minimum).
        current[1:] = np.minimum(previous[:-1] + cost, previous[1:] + 1)
        previous = np.minimum.accumulate(current - offsets) + offsets
    return int(previous[-1])


def char_accuracy(expected: str, read: str) -> float:
    """1 - edit distance / length of the expected text, whitespace normalised, at least 0;
    1.0 when both are empty."""
    want, got = normalize(expected), normalize(read)
    if not want:
        return 1.0 if not got else 0.0
    return max(0.0, 1.0 - edit_distance(want, got) / len(want))


def write_png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds almost none (a header,
    one compressed row): what a decompression bomb looks like before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(bytes(1 + 3 * min(width, 4096)))
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")
    )
    return path
