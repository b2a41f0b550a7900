"""Images into the engine's input: reduced while loaded, upright, BGR, a shape it can read.

Whatever arrives (a file, a numpy array, a PIL image), at most `READ_SIDE` pixels on the long
side reach the engine and no full-size copy is made on the way: JPEGs are decoded at a reduced
scale, large arrays are sampled every k-th pixel (a view) before an area resize, files
declaring more than `MAX_DECODE_PIXELS` are not decoded. What cannot be read gives a note,
never an exception (except a missing file, which is the caller's mistake).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from media_analysis_dagster.media.ocr.limits import MAX_DECODE_PIXELS, MIN_SIDE

Source = Path | str | np.ndarray | Any
"""A file, an RGB/RGBA/grey uint8 array (height x width [x channels]), or a PIL image."""
Loaded = tuple[np.ndarray | None, int, int, str | None]
"""BGR pixels (None when unreadable), the original width and height, a note."""

_DAMAGED = "The image is damaged or not in a readable format."
_ORIENTATION = 0x0112  # EXIF tag: how a camera's picture is turned for display


def reduce_array(pixels: np.ndarray, side: int) -> np.ndarray:
    """``pixels`` with its longest side at most ``side``: every k-th pixel first when it is
    more than twice too large (a view, no copy of the original), then an area resize."""
    import cv2

    longest = max(pixels.shape[:2])
    if longest <= side:
        return pixels
    step = longest // (2 * side)
    if step > 1:
        pixels = pixels[::step, ::step]
    scale = side / max(pixels.shape[:2])
    size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
    return cv2.resize(np.ascontiguousarray(pixels), size, interpolation=cv2.INTER_AREA)


def to_bgr(pixels: np.ndarray) -> np.ndarray:
    """RGB, RGBA, grey or grey+alpha uint8 → contiguous BGR; transparent parts become a
    background that contrasts with what is drawn (white behind dark text)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    colour = pixels[:, :, :3] if channels >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    if channels in (2, 4):
        alpha = pixels[:, :, -1:].astype(np.float32) / 255.0
        opaque = colour[pixels[:, :, -1] > 0]
        background = 255.0 if opaque.size == 0 or opaque.mean() < 128 else 0.0
        colour = (colour * alpha + background * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(colour[:, :, ::-1])


def _pil_pixels(image: Any, side: int) -> np.ndarray:
    """A PIL image reduced to ``side`` as a uint8 array (RGB, RGBA, L or LA)."""
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        alpha = "transparency" in image.info or image.mode.endswith("A")
        image = image.convert("RGBA" if alpha else "RGB")
    if max(image.size) > side:
        factor = max(image.size) // side
        image = image.reduce(factor) if factor > 1 else image.copy()
        image.thumbnail((side, side))
    return np.asarray(image)


def _open_file(path: Path, side: int) -> Loaded:
    """Decode an image file reduced (a JPEG at a lower scale while decoding), upright as a
    viewer shows it; the size returned is the upright one, which boxes refer to."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # our pixel limit replaces Pillow's bomb warning
            with Image.open(path) as image:
                width, height = image.size
                image.draft(None, (side, side))  # JPEG: decode at 1/2..1/8 scale; else no-op
                if image.size[0] * image.size[1] > MAX_DECODE_PIXELS:
                    note = f"The image is {width}x{height} pixels, too large to read."
                    return None, width, height, note
                if image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):
                    width, height = height, width  # shown turned a quarter: boxes follow
                upright = ImageOps.exif_transpose(image)
                return _pil_pixels(upright, side), width, height, None
    except Image.DecompressionBombError:
        return None, 0, 0, "The image declares too many pixels to read."
    except FileNotFoundError:
        raise
    except Exception:  # Pillow signals damage with many exception types
        return None, 0, 0, _DAMAGED


def _array(source: np.ndarray) -> Loaded:
    height, width = (source.shape[0], source.shape[1]) if source.ndim in (2, 3) else (0, 0)
    ok = source.ndim in (2, 3) and source.dtype == np.uint8
    if ok and source.ndim == 3 and source.shape[2] not in (1, 2, 3, 4):
        ok = False
    return (source, width, height, None) if ok else (None, 0, 0, "Not an 8-bit image array.")


def load(source: Source, side: int) -> Loaded:
    """(BGR pixels with the longest side at most ``side``, original width and height, note)."""
    if isinstance(source, (str, Path)):
        pixels, width, height, note = _open_file(Path(source), side)
    elif isinstance(source, np.ndarray):
        pixels, width, height, note = _array(source)
    else:  # a PIL image
        width, height = source.size
        try:
            pixels, note = _pil_pixels(source, side), None
        except Exception:  # an odd mode, or a lazily loaded damaged file
            pixels, note = None, _DAMAGED
    if pixels is None:
        return None, width, height, note
    if min(width, height) < MIN_SIDE:
        return None, width, height, f"The image is {width}x{height} pixels, too small to read."
    return to_bgr(reduce_array(pixels, side)), width, height, None


def pad_strip(bgr: np.ndarray) -> tuple[np.ndarray, int, int]:
    """A strip (under 32 px or longer than 8:1) padded with its mean colour so the detector
    sees a shape it was trained on; returns the padded image and the (top, left) offsets."""
    import cv2

    h, w = bgr.shape[:2]
    pad_y = max(0, (max(32, w // 8) - h + 1) // 2)
    pad_x = max(0, (max(32, h // 8) - w + 1) // 2)
    if not pad_y and not pad_x:
        return bgr, 0, 0
    mean = [float(v) for v in bgr.reshape(-1, 3).mean(axis=0)]
    padded = cv2.copyMakeBorder(bgr, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=mean)
    return padded, pad_y, pad_x
