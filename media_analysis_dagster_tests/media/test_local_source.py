"""Local media paths: inside the media roots only (symlinks included), copied and hashed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from media_analysis_dagster.media.errors import ForbiddenSourceError, MediaLimitError, SourceError
from media_analysis_dagster.media.local_source import copy_local, resolve_local_path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "media", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "clip.mp4").write_bytes(b"inside")
    (outside / "secret.txt").write_bytes(b"secret")
    return root, outside


def test_resolve_local_path_inside_roots(roots: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = roots
    expected = (root / "sub" / "clip.mp4").resolve()
    assert resolve_local_path(str(root / "sub" / "clip.mp4"), [root]) == expected
    assert resolve_local_path("sub/clip.mp4", [tmp_path / "none", root]) == expected
    link_root = tmp_path / "root-link"
    link_root.symlink_to(root)  # a root that is itself a symlink still works
    assert resolve_local_path(str(link_root / "sub" / "clip.mp4"), [link_root]) == expected


def test_resolve_local_path_forbidden(roots: tuple[Path, Path]) -> None:
    root, outside = roots
    (root / "escape.txt").symlink_to(outside / "secret.txt")
    for media_path in (
        str(outside / "secret.txt"),
        str(root / ".." / "outside" / "secret.txt"),
        "../outside/secret.txt",
        str(root / "escape.txt"),
        "/etc/passwd",
    ):
        with pytest.raises(ForbiddenSourceError):
            resolve_local_path(media_path, [root])
    with pytest.raises(ForbiddenSourceError, match="No media roots"):
        resolve_local_path(str(root / "sub" / "clip.mp4"), [])


def test_resolve_local_path_missing_or_not_a_file(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    with pytest.raises(SourceError, match="does not exist") as missing:
        resolve_local_path(str(root / "nope.mp4"), [root])
    assert not isinstance(missing.value, ForbiddenSourceError)
    with pytest.raises(SourceError, match="not a regular file"):
        resolve_local_path(str(root / "sub"), [root])


def test_copy_local_hashes_while_copying(roots: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = roots
    dest = tmp_path / "work" / "deep" / "input.bin"
    fetched = copy_local(root / "sub" / "clip.mp4", dest)
    assert fetched.path == dest and dest.read_bytes() == b"inside"
    assert fetched.sha256 == hashlib.sha256(b"inside").hexdigest() and fetched.size_bytes == 6
    assert (fetched.source, fetched.final_url, fetched.content_type_header) == ("path", None, None)
    with pytest.raises(SourceError):
        copy_local(root / "missing", tmp_path / "x")
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.part").exists()


def test_copy_local_size_limit_leaves_no_file(roots: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = roots
    with pytest.raises(MediaLimitError, match="limit of 5 bytes"):
        copy_local(root / "sub" / "clip.mp4", tmp_path / "y", max_bytes=5)
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.part").exists()
