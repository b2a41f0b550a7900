"""Documents: PDFs, plain text and images, reduced to text plus page images for vision.

pypdf reads the PDF structure (metadata, page count, encryption) because it reports those
precisely and fails loudly on damage; pypdfium2 extracts text and renders, because it is fast and
renders like a viewer does. A page without a text layer (a scan) is rendered to a PNG so a vision
model can read it. Plain text is one "page"; an image is one page whose picture is normalised to
JPEG or PNG. Every size that an attacker controls (page count, page area, image pixels, text
length) is checked before the expensive step it would inflate: a page is rendered at
``render_dpi`` unless that exceeds ``max_page_pixels`` (then at the scale that fits), and a
document renders at most ``max_render_pixels`` in all, so a 14 KB PDF of 50 pages of
200,000 pt costs what a few ordinary pages cost.

Every string returned (text, metadata) is safe for PostgreSQL (``text_stats.safe_text``): no NUL
characters (ImageMagick writes them into PDF metadata) and no unpaired surrogates (a broken
UTF-16 string in a PDF). A PDF yields at most ``max_text_chars`` of text, and pages are read
only until ``max_seconds`` have passed; the pages after either limit are not listed and the
metadata says ``truncated``.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    EncryptedDocumentError,
    MediaError,
    MediaLimitError,
    SourceError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.sniff import bom_encoding
from media_analysis_dagster.media.text_stats import safe_text

StrPath = str | os.PathLike[str]
_MAX_TEXT_BYTES = 10 * 1024 * 1024
#: Largest rendered page (pixels): an A3 page at 100 dpi is 1.9 Mpx.
MAX_PAGE_PIXELS = 2_500_000
#: Most pixels rendered for one document, all pages together (50 Letter pages at 100 dpi: 47 Mpx).
MAX_RENDER_PIXELS = 50_000_000
#: Most characters of text taken from one PDF (a compressed content stream can hold millions per
#: page); plain-text documents are cut at 10 MiB of bytes.
MAX_TEXT_CHARS = 10_000_000
#: Time after which no further PDF page is read (pdfium spends ~2.4 us per glyph, and a 10 KB
#: file can hold millions of glyphs per page); ordinary PDFs read at 20-60 ms per page.
MAX_READ_SECONDS = 120.0
_MAX_METADATA_ITEMS = 64
_MAX_METADATA_CHARS = 2000
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class PageInfo:
    """One page: its text, and for pages without a text layer the rendered image."""

    number: int
    text: str
    has_text_layer: bool
    image_path: Path | None = None
    width_pt: float = 0.0
    height_pt: float = 0.0


@dataclass
class DocumentInfo:
    """A document reduced to metadata, per-page text and page images."""

    kind: str  # 'pdf' | 'text' | 'image'
    mime_type: str
    page_count: int
    encrypted: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    pages: list[PageInfo] = field(default_factory=list)
    text: str = ""
    width: int | None = None
    height: int | None = None
    char_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Everything except the full text, which is stored separately and can be large."""
        return {
            "kind": self.kind,
            "mime_type": self.mime_type,
            "page_count": self.page_count,
            "encrypted": self.encrypted,
            "metadata": dict(self.metadata),
            "width": self.width,
            "height": self.height,
            "char_count": self.char_count,
            "pages": [
                {
                    "number": page.number,
                    "has_text_layer": page.has_text_layer,
                    "chars": len(page.text),
                    "image_path": str(page.image_path) if page.image_path else None,
                }
                for page in self.pages
            ],
        }


def inspect_document(
    path: StrPath,
    out_dir: StrPath,
    *,
    mime_type: str,
    max_pages: int = 2000,
    render_dpi: int = 100,
    max_render_pages: int = 50,
    max_image_pixels: int = 100_000_000,
    max_page_pixels: int = MAX_PAGE_PIXELS,
    max_render_pixels: int = MAX_RENDER_PIXELS,
    max_text_chars: int = MAX_TEXT_CHARS,
    max_seconds: float = MAX_READ_SECONDS,
) -> DocumentInfo:
    """Read a PDF, plain-text or image document; page images go to ``out_dir``."""
    _require_file(path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if mime_type == "application/pdf":
        page_pixels = min(max_page_pixels, max_image_pixels)
        deadline = time.monotonic() + max_seconds
        budget = _Budget(
            render_dpi, max_render_pages, page_pixels, max_render_pixels, max_text_chars, deadline
        )
        return _inspect_pdf(Path(path), out, max_pages, budget)
    if mime_type == "text/plain":
        return _inspect_text(Path(path))
    if mime_type.startswith("image/"):
        return _inspect_image(Path(path), out, mime_type, max_image_pixels, max_page_pixels)
    raise UnsupportedMediaError(f"Documents of type {mime_type} are not supported.")


def check_pdf(path: StrPath, *, max_pages: int = 2000) -> dict[str, Any]:
    """Cheap validation before anything else is written: opens, not locked, page count in range.

    The fetch step calls this so an encrypted or damaged PDF fails the request before any
    other step writes files.
    """
    _require_file(path)
    encrypted, _, count, metadata = _read_pdf_structure(Path(path))
    if count > max_pages:
        raise MediaLimitError(f"The PDF has {count} pages, over the limit of {max_pages}.")
    if count == 0:
        raise CorruptMediaError("The PDF has no pages.")
    return {"page_count": count, "encrypted": encrypted, "metadata": metadata}


def _require_file(path: StrPath) -> None:
    if not os.path.isfile(path):
        raise SourceError(f"The document {Path(path).name} does not exist.")
    if os.path.getsize(path) == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")


def _read_pdf_structure(path: Path) -> tuple[bool, str | None, int, dict[str, str]]:
    """(encrypted, password that opened it, page count, metadata) via pypdf."""
    import pypdf

    try:
        reader = pypdf.PdfReader(path)
        encrypted = reader.is_encrypted
        password = None
        if encrypted:
            # An empty user password with an owner password only restricts editing: it opens.
            if not reader.decrypt(""):
                raise EncryptedDocumentError("The PDF is encrypted and needs a password.")
            password = ""
        count = len(reader.pages)
        metadata = _clean_metadata(reader.metadata or {})
    except MediaError:
        raise
    except Exception as exc:  # pypdf signals damage with many exception types
        raise CorruptMediaError("The PDF is damaged and cannot be read.") from exc
    return encrypted, password, count, metadata


@dataclass
class _Budget:
    """What reading one PDF may still cost: pages and pixels to render, characters of text."""

    dpi: int
    pages: int
    page_pixels: int
    pixels: int
    chars: int
    deadline: float
    text_cut: bool = False

    def spent(self) -> bool:
        """True (and the text marked as cut) once no more text may be read."""
        if self.chars <= 0 or time.monotonic() > self.deadline:
            self.text_cut = True
        return self.text_cut

    def scale_for(self, width_pt: float, height_pt: float) -> float | None:
        """Render scale for a page (``render_dpi``, lowered to fit the per-page and remaining
        total pixels), or None when the page has no area or the budget is spent."""
        if self.pages <= 0 or not (width_pt > 0 and height_pt > 0):
            return None
        allowed = min(self.page_pixels, self.pixels)
        if allowed < 4096:  # less than 64x64: nothing a reader could use
            return None
        scale = self.dpi / 72.0
        area = width_pt * height_pt * scale * scale
        if area > allowed:
            scale *= (allowed / area) ** 0.5
        while math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > allowed:
            scale *= 0.995  # the renderer rounds sizes up; a step or two absorbs that
        return scale

    def spend(self, width_px: int, height_px: int) -> None:
        self.pages -= 1
        self.pixels -= width_px * height_px


def _inspect_pdf(path: Path, out: Path, max_pages: int, budget: _Budget) -> DocumentInfo:
    import pypdfium2 as pdfium

    encrypted, password, count, metadata = _read_pdf_structure(path)
    if count > max_pages:
        raise MediaLimitError(f"The PDF has {count} pages, over the limit of {max_pages}.")
    if count == 0:
        raise CorruptMediaError("The PDF has no pages.")
    pages: list[PageInfo] = []
    try:
        pdf = pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        raise CorruptMediaError("The PDF is damaged and cannot be rendered.") from exc
    try:
        for index in range(min(count, len(pdf))):
            if budget.spent():
                break  # the pages not read are not listed; metadata says "truncated"
            page = pdf[index]
            try:
                pages.append(_read_page(page, index + 1, out, budget))
            finally:
                page.close()
    except pdfium.PdfiumError as exc:
        raise CorruptMediaError("A page of the PDF is damaged and cannot be read.") from exc
    finally:
        pdf.close()
    text = "\n\n".join(page.text for page in pages if page.has_text_layer)
    if budget.text_cut:
        metadata["truncated"] = "true"
    return DocumentInfo(
        "pdf", "application/pdf", count, encrypted, metadata, pages, text, None, None, len(text)
    )


def _read_page(page: Any, number: int, out: Path, budget: _Budget) -> PageInfo:
    """One page's text (within what is left of the text budget); a page without text is
    rendered if the render budget allows."""
    width, height = page.get_size()
    textpage = page.get_textpage()
    try:
        chars = textpage.count_chars()
        take = min(chars, budget.chars)
        text = textpage.get_text_range(0, take) if take > 0 else ""
    finally:
        textpage.close()
    text = safe_text(text.replace("\r\n", "\n").replace("\r", "\n"))
    budget.chars -= len(text)
    budget.text_cut = budget.text_cut or take < chars
    info = PageInfo(number, text, bool(text.strip()) or take < chars, None, width, height)
    scale = None if info.has_text_layer else budget.scale_for(width, height)
    if scale is not None:
        image = page.render(scale=scale).to_pil()
        budget.spend(image.width, image.height)
        info.image_path = out / f"page_{number:04d}.png"
        image.save(info.image_path, "PNG")
    return info


def _clean_metadata(raw: Any) -> dict[str, str]:
    """PDF document info as short, printable strings (no control characters, no NUL)."""
    metadata: dict[str, str] = {}
    for key, value in raw.items():
        if len(metadata) >= _MAX_METADATA_ITEMS:
            break
        value = value.get_object() if hasattr(value, "get_object") else value
        if value is None:
            continue
        text = _pdf_bytes_text(value) if isinstance(value, bytes) else str(value)
        name = _CONTROL.sub("", safe_text(str(key).lstrip("/")))[:100]
        text = _CONTROL.sub("", safe_text(text)).strip()[:_MAX_METADATA_CHARS]
        if name:
            metadata[name] = text
    return metadata


def _pdf_bytes_text(raw: bytes) -> str:
    """A PDF string pypdf could not decode (it keeps bytes): UTF-16 or UTF-8 when a byte-order
    mark says so or the bytes are valid UTF-8, else Latin-1; damage becomes U+FFFD."""
    codec = bom_encoding(raw)
    if codec is not None:
        return codecs.decode(raw, codec, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _inspect_text(path: Path) -> DocumentInfo:
    """Plain text (UTF-8, or UTF-16/32 when a byte-order mark says so) with undecodable bytes
    replaced, capped at 10 MiB."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        data = handle.read(_MAX_TEXT_BYTES)
    codec = bom_encoding(data) or "utf-8-sig"
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    text = safe_text(decoder.decode(data, final=size <= _MAX_TEXT_BYTES))
    text = text.replace("\r\n", "\n")
    metadata = {"truncated": "true"} if size > _MAX_TEXT_BYTES else {}
    page = PageInfo(1, text, True)
    return DocumentInfo(
        "text", "text/plain", 1, False, metadata, [page], text, char_count=len(text)
    )


def _inspect_image(
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
