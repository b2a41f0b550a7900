"""Document inspection on PDFs, text and images generated at test time, plus the shared samples
when ``MEDIA_ANALYSIS_REAL_MEDIA_DIR`` points at them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.documents import inspect_document
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    EncryptedDocumentError,
    MediaLimitError,
    UnsupportedMediaError,
)
from media_analysis_fixtures.documents import encrypt_pdf, write_image_pdf, write_text_pdf

PDF = "application/pdf"


def test_pdf_with_text_layer(tmp_path: Path) -> None:
    pdf = write_text_pdf(tmp_path / "a.pdf", ["Hello world", "Page (two)", "Three"], info_title="T")
    info = inspect_document(pdf, tmp_path / "out", mime_type=PDF)
    assert (info.kind, info.page_count, info.encrypted) == ("pdf", 3, False)
    assert info.metadata["Title"] == "T"
    assert [p.text for p in info.pages] == ["Hello world", "Page (two)", "Three"]
    assert all(p.has_text_layer and p.image_path is None for p in info.pages)
    assert (info.pages[0].width_pt, info.pages[0].height_pt) == (612.0, 792.0)
    assert info.text == "Hello world\n\nPage (two)\n\nThree" and info.char_count == len(info.text)
    summary = json.loads(json.dumps(info.to_dict()))
    assert "text" not in summary
    assert summary["pages"][1] == {
        "number": 2,
        "has_text_layer": True,
        "chars": 10,
        "image_path": None,
        "read_by_ocr": False,
        "ocr_confidence": None,
    }


def test_image_only_pdf_pages_are_rendered(tmp_path: Path) -> None:
    pdf = write_image_pdf(tmp_path / "scan.pdf", pages=3)
    out = tmp_path / "out"
    info = inspect_document(pdf, out, mime_type=PDF, render_dpi=72, max_render_pages=2)
    assert info.page_count == 3 and info.text == "" and info.char_count == 0
    assert [p.has_text_layer for p in info.pages] == [False, False, False]
    assert [p.image_path for p in info.pages] == [
        out / "page_0001.png",
        out / "page_0002.png",
        None,  # over max_render_pages
    ]
    with Image.open(out / "page_0001.png") as page:
        assert page.size == (300, 400)  # 300x400 pt at 72 dpi


def test_render_resolution_is_capped_by_max_image_pixels(tmp_path: Path) -> None:
    pdf = write_image_pdf(tmp_path / "scan.pdf")
    info = inspect_document(
        pdf, tmp_path / "o", mime_type=PDF, render_dpi=300, max_image_pixels=30_000
    )
    with Image.open(info.pages[0].image_path) as page:
        assert page.width * page.height <= 30_000 * 1.02


def test_encrypted_pdf_needs_a_password(tmp_path: Path) -> None:
    plain = write_text_pdf(tmp_path / "plain.pdf", ["Secret text"])
    locked = encrypt_pdf(plain, tmp_path / "locked.pdf", user_password="secret", owner_password="o")
    with pytest.raises(EncryptedDocumentError, match="needs a password"):
        inspect_document(locked, tmp_path / "out", mime_type=PDF)


def test_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    plain = write_text_pdf(tmp_path / "plain.pdf", ["Readable text"])
    owner_only = encrypt_pdf(plain, tmp_path / "owner.pdf", user_password="", owner_password="o")
    info = inspect_document(owner_only, tmp_path / "out", mime_type=PDF)
    assert info.encrypted is True and info.page_count == 1
    assert info.text == "Readable text"


def test_damaged_and_oversized_pdfs(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\ngarbage")
    with pytest.raises(CorruptMediaError, match="damaged"):
        inspect_document(damaged, tmp_path / "out", mime_type=PDF)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(CorruptMediaError, match="empty"):
        inspect_document(empty, tmp_path / "out", mime_type=PDF)
    many = write_text_pdf(tmp_path / "many.pdf", ["p"] * 5)
    with pytest.raises(MediaLimitError, match="5 pages, over the limit of 4"):
        inspect_document(many, tmp_path / "out", mime_type=PDF, max_pages=4)


def test_plain_text_is_one_page(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("\ufeffLine one\r\nLine two ä\n".encode() + b"bad \xff byte\n")
    info = inspect_document(path, tmp_path / "out", mime_type="text/plain")
    assert (info.kind, info.page_count, len(info.pages)) == ("text", 1, 1)
    assert info.text == "Line one\nLine two ä\nbad \ufffd byte\n"
    assert info.pages[0].has_text_layer and info.char_count == len(info.text)


@pytest.mark.parametrize(
    ("fmt", "mode", "expected_name"),
    [("PNG", "RGBA", "page_0001.png"), ("JPEG", "RGB", "page_0001.jpg")],
)
def test_images(tmp_path: Path, fmt: str, mode: str, expected_name: str) -> None:
    src = tmp_path / f"picture.{fmt.lower()}"
    Image.new(mode, (120, 80), "blue").save(src, fmt)
    mime = f"image/{fmt.lower()}"
    info = inspect_document(src, tmp_path / "out", mime_type=mime)
    assert (info.kind, info.mime_type, info.width, info.height) == ("image", mime, 120, 80)
    assert info.metadata["format"] == fmt
    assert info.pages[0].image_path == tmp_path / "out" / expected_name
    with Image.open(info.pages[0].image_path) as normalised:
        assert normalised.size == (120, 80)


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("L", (5000, 5000), 0).save(bomb, "PNG", optimize=True)
    assert bomb.stat().st_size < 100_000  # tiny file, 25 megapixels
    with pytest.raises(MediaLimitError, match="5000x5000 pixels"):
        inspect_document(bomb, tmp_path / "out", mime_type="image/png", max_image_pixels=1_000_000)
    assert not (tmp_path / "out" / "page_0001.jpg").exists()


def test_corrupt_image_and_unsupported_type(tmp_path: Path) -> None:
    src = tmp_path / "cut.png"
    Image.effect_noise((200, 200), 50).save(src, "PNG")
    src.write_bytes(src.read_bytes()[:2000])
    with pytest.raises(CorruptMediaError, match="image"):
        inspect_document(src, tmp_path / "out", mime_type="image/png")
    with pytest.raises(UnsupportedMediaError, match="not supported"):
        inspect_document(src, tmp_path / "out", mime_type="application/zip")


def test_real_sample_pdfs_match_files_json(tmp_path: Path) -> None:
    root = os.environ.get("MEDIA_ANALYSIS_REAL_MEDIA_DIR")
    if not root:
        pytest.skip("MEDIA_ANALYSIS_REAL_MEDIA_DIR is not set (e.g. ../shared/media)")
    pdf_dir = Path(root) / "pdf"
    entries = json.loads((pdf_dir / "files.json").read_text("utf-8"))["data"]
    checked = 0
    for entry in entries:
        path = pdf_dir / Path(entry["path"]).name
        if not path.exists():
            continue
        out = tmp_path / path.stem
        if entry["encrypted"]:
            with pytest.raises(EncryptedDocumentError):
                inspect_document(path, out, mime_type=PDF)
        else:
            info = inspect_document(path, out, mime_type=PDF)
            assert (info.page_count, info.encrypted) == (entry["pages"], False), path.name
            assert info.char_count > 0, path.name
        checked += 1
    assert checked > 0
