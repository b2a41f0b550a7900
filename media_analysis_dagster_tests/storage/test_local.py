"""The local backend keeps today's layout and retention's rules (ops/cleanup.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from media_analysis_dagster.storage import (
    InvalidKeyError,
    StorageConfig,
    StorageConfigError,
    artifact_key,
    open_store,
    request_prefix,
)
from media_analysis_dagster.storage.local import LocalStore


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    store = open_store(StorageConfig(kind="local", local_root=tmp_path / "data"))
    assert isinstance(store, LocalStore)
    return store


def test_layout_is_the_data_dirs_requests_folder(local: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "sheet.jpg"
    source.write_bytes(b"jpeg")
    stored = local.put_file(artifact_key("r1", "contact_sheets", "sheet.jpg"), source)
    path = tmp_path / "data" / "requests" / "r1" / "contact_sheets" / "sheet.jpg"
    assert path.read_bytes() == b"jpeg"
    assert stored.remote_url == path.as_uri()
    assert stored.sha256 == hashlib.sha256(b"jpeg").hexdigest()
    assert local.presign(stored.key) == str(path)
    assert source.exists()  # copied, not moved
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_put_of_a_file_already_in_place_only_hashes_it(local: LocalStore) -> None:
    key = artifact_key("r1", "frames", "f1.jpg")
    path = local.path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"frame bytes")
    before = path.stat()
    stored = local.put_file(key, path)
    after = path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert stored.sha256 == hashlib.sha256(b"frame bytes").hexdigest()
    assert stored.size_bytes == len(b"frame bytes")


def test_delete_prefix_stays_inside_requests(local: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (outside / "deep").mkdir()
    (outside / "deep" / "keep2.txt").write_text("keep")
    inbox = local.root / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "user.mp4").write_text("input")

    request = local.root / "requests" / "r1"
    (request / "frames").mkdir(parents=True)
    (request / "frames" / "f1.jpg").write_text("f")
    os.symlink(outside / "keep.txt", request / "frames" / "link.txt")  # a file link out
    os.symlink(outside / "deep", request / "linked_dir")  # a folder link out
    os.symlink(outside, local.root / "requests" / "r2")  # a whole request folder linked out

    assert local.list(request_prefix("r1")) == ["requests/r1/frames/f1.jpg"]
    assert local.delete_prefix(request_prefix("r1")) == 1
    assert not request.exists()  # the links went with it; their targets did not
    assert (outside / "keep.txt").read_text() == "keep"
    assert (outside / "deep" / "keep2.txt").read_text() == "keep"

    assert local.list(request_prefix("r2")) == []
    assert local.delete_prefix(request_prefix("r2")) == 0
    assert (outside / "keep.txt").exists()

    for prefix in ["inbox/", "requests/", "requests", "dagster_home/"]:
        with pytest.raises(InvalidKeyError, match="limited to one request's files"):
            local.delete_prefix(prefix)
    assert (inbox / "user.mp4").exists()


def test_put_through_a_symlinked_folder_is_refused(local: LocalStore, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (local.root / "requests").mkdir(parents=True)
    os.symlink(elsewhere, local.root / "requests" / "r9")
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(InvalidKeyError, match="leads outside the data directory"):
        local.put_file(artifact_key("r9", "frames", "f.txt"), source)
    assert not list(elsewhere.rglob("f.txt"))


def test_check_reports_an_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    store = open_store(StorageConfig(kind="local", local_root=blocker))
    with pytest.raises(StorageConfigError, match=r"The data directory '.*' is not writable"):
        store.check()
