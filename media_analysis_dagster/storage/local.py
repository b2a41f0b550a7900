"""Artifacts as files under the data dir: ``<local_root>/requests/<request_id>/<step>/<name>``.

This is the layout steps already write, so ``put_file`` of a file that is already in place is a
hash and nothing else; any other file is copied into place (through a temporary file and an
atomic rename, hashing while it copies). The retention rules of ``pipeline/cleanup.py`` and
``paths.py`` hold here:
``delete_prefix`` only deletes inside ``<local_root>/requests/`` once symlinks are resolved, does
not follow symlinked folders, and removes symlinks themselves rather than what they point to.
The configured prefix does not apply to local files (the data dir is already ours alone).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .base import (
    CHUNK_BYTES,
    ArtifactStore,
    ObjectInfo,
    StoredObject,
    file_sha256,
    guess_content_type,
    source_file,
)
from .config import StorageConfig
from .errors import InvalidKeyError, ObjectNotFoundError, StorageConfigError, StorageError
from .keys import REQUESTS, check_key
from .paths import is_inside


class LocalStore(ArtifactStore):
    """Files under ``config.local_root`` (the data dir)."""

    def __init__(self, config: StorageConfig) -> None:
        super().__init__(config)
        self.root = config.local_root

    # -- paths -----------------------------------------------------------------------------
    def object_name(self, key: str) -> str:
        return check_key(key)

    def path(self, key: str) -> Path:
        """The file of a key (it may not exist)."""
        return self.root / check_key(key)

    def native_url(self, name: str) -> str:
        return (self.root / name).as_uri()

    def workspace(self, run_id: str | None) -> Path:
        """Steps write in place: ``put_file`` of a file already at its key is a hash, no copy."""
        return self.root

    def release_workspace(self, run_id: str | None) -> None:
        """The data dir is the store itself: nothing is scratch."""

    def row_path(self, key: str) -> str:
        """The file's absolute path (``media_files.file_path`` of local artifacts)."""
        return str(self.path(key))

    def _inside(self, path: Path, base: Path) -> bool:
        return is_inside(path, base)

    def _error(self, exc: OSError, doing: str, key: str) -> StorageError:
        reason = exc.strerror or "the operating system refused"
        return StorageError(
            f"The data directory '{self.root}' could not {doing} '{key}': {reason}."
        )

    # -- objects ---------------------------------------------------------------------------
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> StoredObject:
        source, dest = source_file(path, key), self.path(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not self._inside(dest.parent, self.root):
                raise InvalidKeyError(
                    f"The key '{key}' leads outside the data directory '{self.root}'."
                )
            if dest.exists() and os.path.samefile(source, dest):
                sha256, size = file_sha256(dest)
            else:
                sha256, size = _copy_hashing(source, dest)
        except OSError as exc:
            raise self._error(exc, "store", key) from None
        return StoredObject(key=key, size_bytes=size, sha256=sha256, remote_url=self.url(key))

    def get_file(self, key: str, dest_path: Path) -> Path:
        source, dest = self._existing(key), Path(dest_path)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not (dest.exists() and os.path.samefile(source, dest)):
                _copy_hashing(source, dest)
        except OSError as exc:
            raise self._error(exc, "read", key) from None
        return dest

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._existing(key), "rb")
        except OSError as exc:
            raise self._error(exc, "open", key) from None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def stat(self, key: str) -> ObjectInfo:
        path = self._existing(key)
        try:
            sha256, size = file_sha256(path)
        except OSError as exc:
            raise self._error(exc, "read", key) from None
        return ObjectInfo(key, size, sha256, guess_content_type(path.name))

    def _existing(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFoundError(
                f"The object '{key}' does not exist in the data directory '{self.root}'."
            )
        return path

    def list(self, prefix: str) -> list[str]:
        return sorted(key for key, path in self._walk(prefix) if not path.is_symlink())

    def _walk(self, prefix: str) -> Iterator[tuple[str, Path]]:
        """(key, path) of files and symlinks under a prefix; symlinked folders not followed."""
        check_key(prefix, prefix=True)
        base = self.root / (prefix if prefix.endswith("/") else prefix.rpartition("/")[0])
        if not base.is_dir() or not self._inside(base, self.root):
            return
        for folder, dirs, names in os.walk(base):
            for name in [*names, *(d for d in dirs if Path(folder, d).is_symlink())]:
                path = Path(folder, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix) and (path.is_symlink() or path.is_file()):
                    yield key, path

    def delete_prefix(self, prefix: str) -> int:
        """Delete the files under ``prefix`` (which must lie in ``requests/``); count them."""
        check_key(prefix, prefix=True)
        requests_dir = self.root / REQUESTS
        if not prefix.startswith(f"{REQUESTS}/") or prefix == f"{REQUESTS}/":
            raise InvalidKeyError(
                f"Local deletes are limited to one request's files under "
                f"'{requests_dir}'; the prefix '{prefix}' is not."
            )
        count = 0
        try:
            for _key, path in list(self._walk(prefix)):
                if path.is_symlink():
                    path.unlink()  # the link goes, what it points to stays
                elif self._inside(path, requests_dir):
                    path.unlink()
                    count += 1
            self._prune(prefix)
        except OSError as exc:
            raise self._error(exc, "delete", prefix) from None
        return count

    def _prune(self, prefix: str) -> None:
        """Remove folders left empty under the prefix (the prefix's own folder included)."""
        base = self.root / (prefix if prefix.endswith("/") else prefix.rpartition("/")[0])
        if not base.is_dir() or base.is_symlink():
            return
        for folder, _dirs, _names in os.walk(base, topdown=False):
            path = Path(folder)
            key = path.relative_to(self.root).as_posix() + "/"
            if key.startswith(prefix) and not any(path.iterdir()):
                path.rmdir()

    def presign(self, key: str, expires_s: int = 3600) -> str:
        """The public URL when a base URL is configured, else the file's absolute path."""
        if self.config.public_base_url:
            return self.url(key)
        return str(self._existing(key))

    def check(self) -> None:
        requests_dir = self.root / REQUESTS
        try:
            requests_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=requests_dir, prefix=".check-"):
                pass
        except OSError as exc:
            raise StorageConfigError(
                f"The data directory '{self.root}' is not writable: "
                f"{exc.strerror or 'access refused'}."
            ) from None


def _copy_hashing(source: Path, dest: Path) -> tuple[str, int]:
    """Copy through a temporary file beside ``dest`` and rename it into place; hash as it goes."""
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        shutil.copymode(source, tmp_name)
        os.replace(tmp_name, dest)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size
