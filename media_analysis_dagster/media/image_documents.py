"""Image documents: checked before decoding, decoded reduced, normalised to JPEG or PNG.

An image is a one-page document whose picture a vision model reads. Its declared pixel count is
checked before anything is decoded, and a large picture is reduced while it is decoded, so a
small file that declares a huge image (a decompression bomb) costs little memory.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.document_info import DocumentInfo, PageInfo
from media_analysis_dagster.media.errors import CorruptMediaError, MediaError, MediaLimitError


def inspect_image(
    path: Path, out: Path, mime_type: str, max_pixels: int, page_pixels: int
) -> DocumentInfo:
    """Check, decode and normalise an image; the pixel count is checked before decoding, and
    the page image is at most ``page_pixels`` (the original size goes into the metadata)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Our pixel limit replaces Pillow's bomb warning; its "corrupt EXIF" notes are noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise MediaLimitError(
                        f"The image is {width}x{height} pixels, over the limit of {max_pixels}."
                    )
                image.verify()
            with Image.open(path) as image:
                metadata = {"format": str(image.format), "mode": image.mode}
                metadata["frames"] = str(getattr(image, "n_frames", 1))
                picture = _page_picture(image, page_pixels)
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own check, at twice its warning size
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or 0) or max_pixels)
        raise MediaLimitError(f"The image has more pixels than the limit of {limit}.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptMediaError("The image is damaged or not in a readable format.") from exc
    except Exception as exc:  # Pillow's parsers signal damage with many exception types
        raise CorruptMediaError("The image is damaged or not in a readable format.") from exc
    if picture.width * picture.height < width * height:
        metadata["original_size"] = f"{width}x{height}"
    has_alpha = picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info
    if has_alpha:
        target = out / "page_0001.png"
        picture.convert("RGBA").save(target, "PNG")
    else:
        target = out / "page_0001.jpg"
        picture.convert("RGB").save(target, "JPEG", quality=90)
    page = PageInfo(1, "", False, target, float(picture.width), float(picture.height))
    return DocumentInfo(
        "image", mime_type, 1, False, metadata, [page], "", picture.width, picture.height, 0
    )


def _page_picture(image: Any, max_pixels: int) -> Any:
    """The decoded picture, upright, at most ``max_pixels``. A larger one is reduced while it
    is decoded where the format allows (JPEG decodes at 1/2 to 1/8 scale), otherwise by an
    integer box reduction, so no second full-size copy is made: a 90 Mpx RGBA PNG of 350 KB
    peaked at 1.1 GB when it was decoded, turned upright and converted at full size."""
    from PIL import ImageOps

    width, height = image.size
    if width * height <= max_pixels:
        image.load()
        return ImageOps.exif_transpose(image)
    scale = (max_pixels / (width * height)) ** 0.5
    target = (max(1, int(width * scale)), max(1, int(height * scale)))
    image.draft(None, target)  # JPEG: decode at a reduced scale; a no-op for other formats
    factor = max(1, min(image.width // target[0], image.height // target[1]))
    small = _reduced(image, factor) if factor > 1 else image.copy()
    small.thumbnail(target)
    return ImageOps.exif_transpose(small)


def _reduced(image: Any, factor: int) -> Any:
    """Integer box reduction without a second full-size copy: Pillow reduces RGBA through a
    premultiplied full-size copy, so bands with alpha are reduced one at a time."""
    from PIL import Image

    if image.mode not in ("L", "RGB", "RGBA", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA"):
        bands = [image.getchannel(i).reduce(factor) for i in range(len(image.getbands()))]
        return Image.merge(image.mode, bands)
    return image.reduce(factor)
