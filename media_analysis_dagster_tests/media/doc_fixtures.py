"""Real media made at test time for the sniff, audio and document tests.

PDFs are written by hand (a text layer in Helvetica, with correct xref offsets), by Pillow (image
only, no text layer) and encrypted by pypdf; audio and video come from the ffmpeg binary in the
imageio-ffmpeg wheel, so no system ffmpeg and no checked-in binaries are needed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def write_text_pdf(path: Path, pages: list[str], *, info_title: str | None = None) -> Path:
    """A minimal valid PDF with one Helvetica text line per page."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % pid for pid in page_ids)
        + b"] /Count %d >>" % len(pages),
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
    info_id = None
    if info_title is not None:
        info_id = max(objects) + 1
        objects[info_id] = b"<< /Title (" + info_title.encode("latin-1") + b") >>"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n" % oid + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for oid in range(1, size):
        out += b"%010d 00000 n \n" % offsets[oid]
    trailer = b"<< /Size %d /Root 1 0 R" % size
    if info_id is not None:
        trailer += b" /Info %d 0 R" % info_id
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(bytes(out))
    return path


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


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg quietly; raise with its stderr if it fails."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


def make_video(path: Path, *, seconds: float = 1.0, audio: bool = True, faststart=False) -> Path:
    """A small H.264 (+AAC) MP4 with a test pattern and a sine tone."""
    args = ["-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=64x48:rate=10"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-shortest"]
    if faststart:
        args += ["-movflags", "+faststart"]
    ffmpeg(*args, str(path))
    return path


def make_tone(path: Path, *args: str, seconds: float = 1.0, frequency: int = 440) -> Path:
    """A sine tone encoded as ``path``'s extension implies, with extra ffmpeg output ``args``."""
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}", *args, str(path))
    return path
