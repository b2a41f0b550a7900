"""Documents: PDFs, plain text and images, reduced to text plus page images for vision.

pypdf reads the PDF structure (metadata, page count, encryption) because it reports those
precisely and fails loudly on damage; pypdfium2 extracts text and renders, because it is fast and
renders like a viewer does. A page without a text layer (a scan) is rendered to a PNG so a vision
model can read it. Plain text is one "page"; an image is one page whose picture is normalised to
JPEG or PNG. Every size that an attacker controls (page count, page area, image pixels, text
length) is checked before the expensive step it would inflate.
"""

from __future__ import annotations

import codecs
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    EncryptedDocumentError,
    MediaError,
    MediaLimitError,
    UnsupportedMediaError,
)

StrPath = str | os.PathLike[str]
_MAX_TEXT_BYTES = 10 * 1024 * 1024


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
) -> DocumentInfo:
    """Read a PDF, plain-text or image document; page images go to ``out_dir``."""
    if os.path.getsize(path) == 0:
        raise CorruptMediaError("The file is empty (0 bytes).")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if mime_type == "application/pdf":
        return _inspect_pdf(
            Path(path), out, max_pages, render_dpi, max_render_pages, max_image_pixels
        )
    if mime_type == "text/plain":
        return _inspect_text(Path(path))
    if mime_type.startswith("image/"):
        return _inspect_image(Path(path), out, mime_type, max_image_pixels)
    raise UnsupportedMediaError(f"Documents of type {mime_type} are not supported.")


def check_pdf(path: StrPath, *, max_pages: int = 2000) -> dict[str, Any]:
    """Cheap validation before anything else is written: opens, not locked, page count in range.

    The fetch step calls this so an encrypted or damaged PDF fails the request before any
    other step writes files.
    """
    encrypted, _, count, metadata = _read_pdf_structure(Path(path))
    if count > max_pages:
        raise MediaLimitError(f"The PDF has {count} pages, over the limit of {max_pages}.")
    if count == 0:
        raise CorruptMediaError("The PDF has no pages.")
    return {"page_count": count, "encrypted": encrypted, "metadata": metadata}


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
        metadata = {
            str(key).lstrip("/"): str(value)
            for key, value in (reader.metadata or {}).items()
            if value is not None
        }
    except MediaError:
        raise
    except Exception as exc:  # pypdf signals damage with many exception types
        raise CorruptMediaError("The PDF is damaged and cannot be read.") from exc
    return encrypted, password, count, metadata


def _inspect_pdf(
    path: Path, out: Path, max_pages: int, dpi: int, max_render: int, max_pixels: int
) -> DocumentInfo:
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
        rendered = 0
        for index in range(min(count, len(pdf))):
            page = pdf[index]
            try:
                width, height = page.get_size()
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
                textpage.close()
                info = PageInfo(index + 1, text, bool(text.strip()), None, width, height)
                if not info.has_text_layer and rendered < max_render:
                    info.image_path = _render(page, out, index + 1, dpi, max_pixels)
                    rendered += 1
            finally:
                page.close()
            pages.append(info)
    except pdfium.PdfiumError as exc:
        raise CorruptMediaError("A page of the PDF is damaged and cannot be read.") from exc
    finally:
        pdf.close()
    text = "\n\n".join(page.text for page in pages if page.has_text_layer)
    return DocumentInfo(
        "pdf", "application/pdf", count, encrypted, metadata, pages, text, None, None, len(text)
    )


def _render(page: Any, out: Path, number: int, dpi: int, max_pixels: int) -> Path:
    """Render one page, lowering the resolution if a huge page would exceed ``max_pixels``."""
    width, height = page.get_size()
    scale = dpi / 72.0
    area = width * height * scale * scale
    if area > max_pixels:
        scale *= (max_pixels / area) ** 0.5
    target = out / f"page_{number:04d}.png"
    image = page.render(scale=scale).to_pil()
    image.save(target, "PNG")
    return target


def _inspect_text(path: Path) -> DocumentInfo:
    """Plain text as UTF-8 with undecodable bytes replaced, capped at 10 MiB."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        data = handle.read(_MAX_TEXT_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    text = decoder.decode(data, final=size <= _MAX_TEXT_BYTES)
    text = text.replace("\r\n", "\n")
    metadata = {"truncated": "true"} if size > _MAX_TEXT_BYTES else {}
    page = PageInfo(1, text, True)
    return DocumentInfo(
        "text", "text/plain", 1, False, metadata, [page], text, char_count=len(text)
    )


def _inspect_image(path: Path, out: Path, mime_type: str, max_pixels: int) -> DocumentInfo:
    """Check, decode and normalise an image; the pixel count is checked before decoding."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise MediaLimitError(
                        f"The image is {width}x{height} pixels, over the limit of {max_pixels}."
                    )
                image.verify()
            with Image.open(path) as image:
                image.load()
                metadata = {"format": str(image.format), "mode": image.mode}
                metadata["frames"] = str(getattr(image, "n_frames", 1))
                picture = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise MediaLimitError("The image has more pixels than Pillow allows.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise CorruptMediaError("The image is damaged or not in a readable format.") from exc
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
