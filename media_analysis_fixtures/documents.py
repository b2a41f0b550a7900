"""PDFs made at test time: a text layer, scans without one, encryption, and byte-exact oddities.

`write_text_pdf` and `write_raw_pdf` write the file byte by byte (correct xref offsets), so a
test controls exactly what a parser sees: Helvetica text lines, any page size, a raw document
information dictionary (NUL escapes, UTF-16, nested objects), compressed contents.
`write_image_pdf` is a scan made by Pillow (no text layer); `encrypt_pdf` encrypts with pypdf.
"""

from __future__ import annotations

import zlib
from pathlib import Path


def _pdf_bytes(objects: dict[int, bytes], info_id: int | None) -> bytes:
    """A PDF 1.4 file of ``objects`` (object 1 the catalog) with its xref table and trailer."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n" % oid + objects[oid] + b"\nendobj\n"
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[oid] for oid in range(1, size))
    trailer = b"<< /Size %d /Root 1 0 R" % size
    if info_id is not None:
        trailer += b" /Info %d 0 R" % info_id
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _write(path: Path, objects: dict[int, bytes], info: bytes | None) -> Path:
    """``objects`` plus, when given, an information dictionary of body ``info``, to ``path``."""
    info_id = None
    if info is not None:
        info_id = max(objects) + 1
        objects[info_id] = b"<< " + info + b" >>"
    path.write_bytes(_pdf_bytes(objects, info_id))
    return path


def _page_tree(kids: list[int]) -> bytes:
    return (
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % k for k in kids)
        + b"] /Count %d >>" % len(kids)
    )


def write_text_pdf(path: Path, pages: list[str], *, info_title: str | None = None) -> Path:
    """A minimal valid PDF with one Helvetica text line per page."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: _page_tree(page_ids),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for pid, text in zip(page_ids, pages, strict=True):
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = b"BT /F1 18 Tf 72 720 Td (" + escaped.encode("latin-1") + b") Tj ET"
        objects[pid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (pid + 1)
        )
        objects[pid + 1] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    info = None if info_title is None else b"/Title (" + info_title.encode("latin-1") + b")"
    return _write(path, objects, info)


def write_raw_pdf(
    path: Path,
    page_sizes: list[tuple[float, float]],
    *,
    info: bytes | None = None,
    text: bytes | None = None,
    deflate: bool = False,
) -> Path:
    """A PDF written byte by byte: one page per ``(width, height)`` in points, each drawing a
    filled square (no text layer unless ``text`` is given, shown in Helvetica), and ``info`` as
    the raw body of the document information dictionary (so it can hold NUL escapes, UTF-16
    strings, hex strings or nested objects exactly as other producers write them). ``deflate``
    compresses the page contents (FlateDecode), so a few KB can carry megabytes of text."""
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    kids = []
    for index, (width, height) in enumerate(page_sizes):
        pid = 4 + 2 * index
        kids.append(pid)
        stream = b"0 0 1 rg 10 10 100 100 re f"
        if text is not None:
            stream += b" BT /F1 18 Tf 20 20 Td (" + text + b") Tj ET"
        objects[pid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (str(width).encode(), str(height).encode(), pid + 1)
        )
        extra = b""
        if deflate:
            stream, extra = zlib.compress(stream, 9), b" /Filter /FlateDecode"
        objects[pid + 1] = (
            b"<< /Length %d%s >>\nstream\n" % (len(stream), extra) + stream + b"\nendstream"
        )
    objects[2] = _page_tree(kids)
    return _write(path, objects, info)


def write_image_pdf(path: Path, pages: int = 1) -> Path:
    """An image-only PDF (a 'scan') made by Pillow: no text layer on any page."""
    from PIL import Image, ImageDraw

    images = []
    for number in range(pages):
        image = Image.new("RGB", (300, 400), "white")
        ImageDraw.Draw(image).text((40, 40), f"Scanned page {number + 1}", fill="black")
        images.append(image)
    images[0].save(path, "PDF", resolution=72.0, save_all=True, append_images=images[1:])
    return path


def encrypt_pdf(src: Path, dest: Path, *, user_password: str, owner_password: str) -> Path:
    """A copy of ``src`` encrypted with pypdf (AES-256)."""
    import pypdf

    reader = pypdf.PdfReader(src)
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password, owner_password, algorithm="AES-256")
    with open(dest, "wb") as handle:
        writer.write(handle)
    return dest
