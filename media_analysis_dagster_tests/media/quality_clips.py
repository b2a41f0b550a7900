"""Clips scripted frame by frame for the frame-quality tests: readable frames and the kinds of
low-information frames a contact sheet must not show when a readable one is near.

A readable frame draws its own number in the blocks `read_counter` reads (white for a 1 bit,
gray for a 0 bit) over a grid of thin lines, so a written JPEG can be traced back to the frame
it shows. The low-information kinds are what real footage has: a watermark or a caption on
black (a fade, a title gap), the watermark on a lifted black (dark gray: a mean luma test
passes it), a flat colour (a slate), a heavy blur (a focus pull), plain black.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from media_analysis_fixtures import COUNTER_GRID

Kind = Literal["content", "watermark", "lifted", "caption", "flat", "blurred", "black"]
Screen = Literal["slide", "dark_text", "credits", "title", "logo", "blurred_slide"]
SIZE = (320, 240)
ZERO_LEVEL = 64


def content(n: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """Frame ``n`` readable: its number in blocks, with fine detail (lines every 16 pixels)."""
    w, h = size
    cols, rows = COUNTER_GRID
    img = Image.new("L", size, ZERO_LEVEL)
    draw = ImageDraw.Draw(img)
    bw, bh = w // cols, h // rows
    for b in range(cols * rows):
        if (n >> b) & 1:
            r, c = divmod(b, cols)
            draw.rectangle((c * bw, r * bh, (c + 1) * bw - 1, (r + 1) * bh - 1), fill=255)
    for x in range(0, w, 16):
        draw.line((x, 0, x, h), fill=0)
    for y in range(0, h, 16):
        draw.line((0, y, w, y), fill=0)
    return img.convert("RGB")


def _text_on_black(
    text: str, size: tuple[int, int], font_px: int, at: tuple[float, float], black: int = 0
) -> Image.Image:
    img = Image.new("RGB", size, (black, black, black))
    font = ImageFont.load_default(size=font_px)
    where = (size[0] * at[0], size[1] * at[1])
    ImageDraw.Draw(img).text(where, text, fill=(235, 235, 235), font=font)
    return img


def picture(kind: Kind, n: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """The picture of frame ``n`` of a given kind."""
    if kind == "content":
        return content(n, size)
    if kind == "watermark":  # a copyright line in a corner, as on the shared real clip
        return _text_on_black("(c) 2013 example.org", size, max(8, size[1] // 24), (0.55, 0.9))
    if kind == "lifted":  # the same on a black that is not quite black (mean luma above 16)
        return _text_on_black("(c) 2013 example.org", size, max(8, size[1] // 24), (0.55, 0.9), 22)
    if kind == "caption":  # a subtitle line on black
        line = "and then the lights went out"
        return _text_on_black(line, size, max(10, size[1] // 14), (0.1, 0.8))
    if kind == "flat":
        return Image.new("RGB", size, (40, 90, 200))
    if kind == "blurred":
        return content(n, size).filter(ImageFilter.GaussianBlur(6))
    return Image.new("RGB", size, (0, 0, 0))


def _lines(size: tuple[int, int], lines: list[str], ink: tuple[int, int, int], px: int, **kw):
    w, h = size
    img = Image.new("RGB", size, kw.get("paper", (0, 0, 0)))
    draw, font = ImageDraw.Draw(img), ImageFont.load_default(size=px)
    for i, line in enumerate(lines):
        draw.text((kw.get("x", w * 0.06), h * 0.06 + i * px * 1.5), line, fill=ink, font=font)
    return img


def screen(kind: Screen, size: tuple[int, int] = (1280, 720)) -> Image.Image:
    """Screens that are readable although mostly one colour (text over the whole picture: a
    slide, a dark-theme editor, credits), and ones that are not (a title word or a logo on a
    plain background, a blurred slide)."""
    w, h = size
    words = [f"point {i}: the figures of the quarter and what they mean" for i in range(6)]
    if kind in ("slide", "blurred_slide"):
        img = _lines(size, ["Quarterly results", *words], (20, 20, 20), h // 16, paper=(255,) * 3)
        return img.filter(ImageFilter.GaussianBlur(w / 160)) if kind == "blurred_slide" else img
    if kind == "dark_text":
        code = [f"def step_{i}(x):  return x * {i}  # the {i}th step" for i in range(34)]
        return _lines(size, code, (200, 200, 150), h // 50, paper=(30, 30, 30))
    if kind == "credits":
        roles = [f"Role number {i} ........ Person Name {i}" for i in range(12)]
        return _lines(size, roles, (255, 255, 255), h // 28, x=w * 0.35)
    if kind == "title":
        return _lines(size, ["", "", "   CHAPTER ONE"], (255, 255, 255), h // 7)
    img = Image.new("RGB", size, (40, 90, 200))
    ImageDraw.Draw(img).ellipse((w * 0.47, h * 0.45, w * 0.53, h * 0.55), fill=(255, 255, 255))
    return img


def make_clip_of(
    path: Path,
    pictures: Sequence[Image.Image],
    *,
    fps: int = 25,
    gop: int = 250,
) -> Path:
    """Encode ``pictures`` with x264, a keyframe every ``gop`` frames and no others, B-frames
    where x264 places them."""
    import av

    w, h = pictures[0].size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "sc_threshold": "0", "keyint_min": str(gop)}
        for image in pictures:
            out.mux(stream.encode(av.VideoFrame.from_image(image)))
        out.mux(stream.encode(None))
    return path


def make_clip(path: Path, script: Sequence[Kind], *, fps: int = 25, gop: int = 250) -> Path:
    """Encode ``script``, one kind of frame per frame (see `make_clip_of`)."""
    return make_clip_of(path, [picture(kind, n) for n, kind in enumerate(script)], fps=fps, gop=gop)
