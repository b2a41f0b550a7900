"""Documents that inflate or carry junk: giant pages, NUL in metadata, UTF-16 text, TIFF/BMP."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.documents import (
    MAX_PAGE_PIXELS,
    MAX_RENDER_PIXELS,
    DocumentInfo,
    inspect_document,
)
from media_analysis_dagster.media.errors import CorruptMediaError, MediaLimitError
from media_analysis_dagster.media.sniff import Sniffed, sniff
from media_analysis_dagster.media.text_stats import safe_text
from media_analysis_fixtures.documents import write_raw_pdf
from media_analysis_fixtures.hostile_media import write_blank_png
from media_analysis_fixtures.peak_memory import run_measured

PDF = "application/pdf"
UNSAFE = re.compile("[\x00\ud800-\udfff]")


def _rendered(info: DocumentInfo) -> list[tuple[int, int]]:
    sizes = []
    for page in info.pages:
        if page.image_path is not None:
            with Image.open(page.image_path) as image:
                sizes.append(image.size)
    return sizes


def assert_postgres_safe(info: DocumentInfo) -> None:
    """Every string a document yields can go into a PostgreSQL TEXT or JSONB column."""
    strings = [info.text, *info.metadata.keys(), *info.metadata.values()]
    strings += [page.text for page in info.pages]
    for text in strings:
        assert not UNSAFE.search(text), repr(text)
        text.encode("utf-8")  # strict: no lone surrogates
    json.dumps(info.to_dict())


def test_giant_pages_render_within_the_pixel_budget(tmp_path: Path) -> None:
    """50 pages of 200,000 x 200,000 pt in a 13 KB file: at 100 dpi each would be 770 Gpx."""
    pdf = write_raw_pdf(tmp_path / "giant.pdf", [(200_000, 200_000)] * 50)
    assert pdf.stat().st_size < 16_000
    started = time.monotonic()
    info = inspect_document(pdf, tmp_path / "out", mime_type=PDF)
    elapsed = time.monotonic() - started
    sizes = _rendered(info)
    assert info.page_count == 50 and len(sizes) == 22  # 21 full pages and what is left
    assert all(w * h <= MAX_PAGE_PIXELS for w, h in sizes)
    assert sum(w * h for w, h in sizes) <= MAX_RENDER_PIXELS
    assert elapsed < 30, elapsed


def test_render_limits_are_parameters(tmp_path: Path) -> None:
    pdf = write_raw_pdf(tmp_path / "big.pdf", [(14_400, 14_400)] * 10 + [(612, 792)])
    info = inspect_document(
        pdf, tmp_path / "out", mime_type=PDF, max_page_pixels=250_000, max_render_pixels=1_000_000
    )
    sizes = _rendered(info)
    assert len(sizes) == 4 and all(w * h <= 250_000 for w, h in sizes)
    assert [p.image_path is None for p in info.pages][4:] == [True] * 7  # the budget is spent


def test_a_large_picture_is_reduced_without_full_size_copies(tmp_path: Path) -> None:
    """36 Mpx RGBA (144 MB decoded) in a small file: the old path (upright copy, premultiplied
    copy, converted copy) peaked at 440 MB; now one decoded picture plus one band at a time."""
    src = write_blank_png(tmp_path / "poster.png", 6000, 6000)
    out = tmp_path / "out"
    result = run_measured(
        "from media_analysis_dagster.media.documents import inspect_document",
        f"""
        info = inspect_document({str(src)!r}, {str(out)!r}, mime_type="image/png")
        result["size"] = [info.width, info.height, info.metadata["original_size"]]
        """,
    )
    assert result["size"] == [1581, 1581, "6000x6000"], result
    assert result["peak_mb"] < 300, result
    with Image.open(out / "page_0001.png") as page:
        assert page.size == (1581, 1581) and page.width * page.height <= MAX_PAGE_PIXELS


def test_pages_without_area_do_not_break_rendering(tmp_path: Path) -> None:
    pdf = write_raw_pdf(tmp_path / "odd.pdf", [(0, 0), (-100, 50), (1, 100_000)])
    info = inspect_document(pdf, tmp_path / "out", mime_type=PDF)
    assert info.page_count == 3
    assert all(w * h <= MAX_PAGE_PIXELS for w, h in _rendered(info))


def test_nul_and_broken_strings_never_leave_the_document_layer(tmp_path: Path) -> None:
    """PDF strings as ImageMagick and others write them: NUL escapes, UTF-16 with a NUL
    terminator, a UTF-16 string holding a lone surrogate, a NUL inside a name, control bytes."""
    info_dict = (
        rb"/Title (abc\000def) /Author <FEFF00410000> /Subject (\376\377\000I\000M\000\000) "
        rb"/Producer (ImageMagick\000) /Keywords 12 /Creator <FEFFD8000041> /Ti#00x (v) "
        rb"/Comment (tab\tbell\007)"
    )
    pdf = write_raw_pdf(tmp_path / "m.pdf", [(612, 792)], info=info_dict, text=rb"A\000B")
    info = inspect_document(pdf, tmp_path / "out", mime_type=PDF)
    assert_postgres_safe(info)
    assert info.metadata == {
        "Title": "abcdef",
        "Author": "A",
        "Subject": "IM",
        "Producer": "ImageMagick",
        "Keywords": "12",
        "Creator": "\ufffdA",
        "Tix": "v",
        "Comment": "tab\tbell",
    }
    assert info.text == "AB"


def test_safe_text() -> None:
    assert safe_text("a\x00b\ud800c\udfffd") == "ab\ufffdc\ufffdd"
    assert safe_text("plain ✓ 😀") == "plain ✓ 😀"


@pytest.fixture(scope="module")
def glyph_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten pages of 300,000 glyphs each from a 7 KB file (compressed page contents): pdfium
    needs about 0.7 s per page to lay out that much text."""
    strings = b") Tj (".join([b"a" * 30_000] * 10)
    path = tmp_path_factory.mktemp("glyphs") / "glyphs.pdf"
    return write_raw_pdf(path, [(612, 792)] * 10, text=strings, deflate=True)


def test_pdf_text_is_cut_at_the_character_budget(glyph_bomb: Path, tmp_path: Path) -> None:
    assert glyph_bomb.stat().st_size < 10_000
    info = inspect_document(glyph_bomb, tmp_path / "out", mime_type=PDF, max_text_chars=450_000)
    assert [len(page.text) for page in info.pages] == [300_000, 150_000]
    assert info.page_count == 10 and info.metadata["truncated"] == "true"
    assert all(page.image_path is None for page in info.pages)


def test_pdf_reading_stops_at_the_time_budget(glyph_bomb: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    info = inspect_document(glyph_bomb, tmp_path / "out", mime_type=PDF, max_seconds=0.5)
    assert time.monotonic() - started < 0.5 + 3  # the page being read when time ran out
    assert 1 <= len(info.pages) < 10 and info.metadata["truncated"] == "true"


def test_real_pdfs_yield_postgres_safe_strings(tmp_path: Path) -> None:
    root = os.environ.get("MEDIA_ANALYSIS_REAL_MEDIA_DIR")
    if not root:
        pytest.skip("MEDIA_ANALYSIS_REAL_MEDIA_DIR is not set (e.g. ../shared/media)")
    entries = json.loads((Path(root) / "pdf" / "files.json").read_text("utf-8"))["data"]
    checked = 0
    for entry in entries:
        path = Path(root) / "pdf" / Path(entry["path"]).name
        if entry["encrypted"] or not path.exists():
            continue
        info = inspect_document(path, tmp_path / path.stem, mime_type=PDF)
        assert_postgres_safe(info)
        assert info.metadata.get("Producer") == entry["producer"], path.name
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-8"])
def test_bom_marked_text_is_text(tmp_path: Path, codec: str) -> None:
    text = "Grüße aus Köln — 日本語のテキスト.\nSecond line ✓\n" * 20
    path = tmp_path / "notes.mp3"  # the name says MP3; FF FE is also an MPEG audio sync
    path.write_bytes(("\ufeff" + text).encode(codec))  # each codec writes its own mark
    assert sniff(path).mime_type == "text/plain"
    info = inspect_document(path, tmp_path / "out", mime_type="text/plain")
    assert info.text == text and info.char_count == len(text)


@pytest.mark.parametrize("lone", ["\ud83d", "\ude00"], ids=["high", "low"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_text_with_an_unpaired_surrogate_reads_with_a_replacement(
    tmp_path: Path, codec: str, bom: bool, lone: str
) -> None:
    """Half an emoji (a string cut between its surrogates) becomes one U+FFFD; the rest reads."""
    text = "Grüße aus Köln — 日本語のテキスト.\nSecond line ✓\n" * 20
    cut = len(text) // 2
    path = tmp_path / "notes.mp3"
    broken = ("\ufeff" if bom else "") + text[:cut] + lone + text[cut:]
    path.write_bytes(broken.encode(codec, "surrogatepass"))
    assert sniff(path) == Sniffed(mime_type="text/plain", media_type="document")
    info = inspect_document(path, tmp_path / "out", mime_type="text/plain")
    assert info.text == text[:cut] + "\ufffd" + text[cut:]
    assert info.char_count == len(text) + 1


@pytest.mark.parametrize(
    ("fmt", "options", "mime"),
    [
        ("TIFF", {}, "image/tiff"),
        ("TIFF", {"compression": "tiff_lzw"}, "image/tiff"),
        ("TIFF", {"compression": "group4"}, "image/tiff"),  # a fax scan
        ("BMP", {}, "image/bmp"),
    ],
)
def test_tiff_and_bmp_are_image_documents(
    tmp_path: Path, fmt: str, options: dict[str, str], mime: str
) -> None:
    path = tmp_path / "scan.bin"
    image = Image.new("RGB", (120, 80), "white")
    (image.convert("1") if options.get("compression") == "group4" else image).save(
        path, fmt, **options
    )
    assert sniff(path).mime_type == mime and sniff(path).media_type == "document"
    info = inspect_document(path, tmp_path / "out", mime_type=mime)
    assert (info.kind, info.width, info.height, info.metadata["format"]) == ("image", 120, 80, fmt)
    assert info.pages[0].image_path is not None and info.pages[0].image_path.exists()


def test_big_endian_tiff_is_detected(tmp_path: Path) -> None:
    """Pillow writes little-endian TIFF; a big-endian one is the same file with other magic."""
    path = tmp_path / "scan.tif"
    path.write_bytes(b"MM\x00*" + b"\x00\x00\x00\x08" + bytes(64))
    assert sniff(path).mime_type == "image/tiff"
    with pytest.raises(CorruptMediaError, match="damaged or not in a readable format"):
        inspect_document(path, tmp_path / "out", mime_type="image/tiff")


def _forge_size(path: Path, fmt: str, side: int) -> None:
    """Rewrite the declared width and height of a small BMP or (little-endian) TIFF."""
    data = bytearray(path.read_bytes())
    if fmt == "BMP":
        data[18:26] = side.to_bytes(4, "little") * 2
    else:
        ifd = int.from_bytes(data[4:8], "little")
        for i in range(int.from_bytes(data[ifd : ifd + 2], "little")):
            entry = ifd + 2 + 12 * i
            if int.from_bytes(data[entry : entry + 2], "little") in (256, 257):  # width, length
                width = 2 if int.from_bytes(data[entry + 2 : entry + 4], "little") == 3 else 4
                data[entry + 8 : entry + 8 + width] = side.to_bytes(width, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("fmt", ["TIFF", "BMP"])
@pytest.mark.parametrize(
    ("side", "message"),
    [
        (11_000, "11000x11000 pixels, over the limit of 100000000"),  # our check
        (60_000, "more pixels than the limit of 100000000"),  # Pillow's own, at 179 Mpx
    ],
)
def test_declared_giant_images_are_refused_before_decoding(
    tmp_path: Path, fmt: str, side: int, message: str
) -> None:
    """A header that declares a giant picture in a file of a few hundred bytes."""
    path = tmp_path / "bomb.img"
    Image.new("1", (8, 8)).save(path, fmt)
    _forge_size(path, fmt, side)
    assert path.stat().st_size < 1000
    with pytest.raises(MediaLimitError, match=message):
        inspect_document(path, tmp_path / "out", mime_type=f"image/{fmt.lower()}")


@pytest.mark.parametrize("fmt", ["TIFF", "BMP"])
def test_truncated_tiff_and_bmp_are_corrupt(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "cut.img"
    Image.effect_noise((300, 300), 60).convert("RGB").save(path, fmt)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CorruptMediaError, match="damaged or not in a readable format"):
        inspect_document(path, tmp_path / "out", mime_type=f"image/{fmt.lower()}")
