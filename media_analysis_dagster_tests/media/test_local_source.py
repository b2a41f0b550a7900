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


def test_every_refusal_names_the_file_the_roots_and_the_fix(
    roots: tuple[Path, Path], tmp_path: Path
) -> None:
    """One sentence each: the path as given, the media roots, what to do; no class name, no
    line break, no errno."""
    root, outside = roots
    (root / "escape.mp4").symlink_to(outside / "secret.txt")
    cases = {
        str(outside / "secret.txt"): ("secret.txt", "outside the media roots", str(root)),
        str(root / "escape.mp4"): ("escape.mp4", "link that leads outside", str(root)),
        "nope.mp4": ("nope.mp4", "does not exist in the media roots", str(root)),
        str(root / "sub"): ("sub", "not a regular file", str(root)),
        "bad\nname\t.mp4": ("bad?name?.mp4",),
    }
    for media_path, words in cases.items():
        with pytest.raises(SourceError) as caught:
            resolve_local_path(media_path, [root])
        message = str(caught.value)
        assert "\n" not in message and "Error" not in message and "Errno" not in message
        for word in words:
            assert word in message, (word, message)
    with pytest.raises(ForbiddenSourceError) as caught:
        resolve_local_path(str(outside / "secret.txt"), [root])
    assert str(caught.value).endswith("or add its folder to MEDIA_ANALYSIS_MEDIA_ROOTS.")
    with pytest.raises(ForbiddenSourceError, match="set MEDIA_ANALYSIS_MEDIA_ROOTS"):
        resolve_local_path("clip.mp4", [])
    many = [tmp_path / f"root{i}" for i in range(5)]
    with pytest.raises(ForbiddenSourceError, match=r"root2 and 2 more\)"):
        resolve_local_path(str(outside / "secret.txt"), many)


def test_copy_failures_name_the_file_and_the_setting(roots: tuple[Path, Path], tmp_path: Path):
    root, _ = roots
    with pytest.raises(MediaLimitError) as caught:
        copy_local(root / "sub" / "clip.mp4", tmp_path / "y", max_bytes=5)
    assert "clip.mp4" in str(caught.value) and "MEDIA_ANALYSIS_MAX_MEDIA_BYTES" in str(caught.value)
    with pytest.raises(SourceError) as missing:
        copy_local(root / "gone.mp4", tmp_path / "z")
    message = str(missing.value)
    assert "gone.mp4" in message and "no such file or directory" in message
    assert "Errno" not in message and "\n" not in message
