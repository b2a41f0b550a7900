"""The one interface every backend implements, and the values it returns.

Callers (ops, the CLI, retention) hold an ``ArtifactStore`` and never learn which backend is
behind it: keys are relative (``keys.py``), ``put_file`` reports the sha256 and size it saw,
``url`` is what a row's ``remote_url`` records and ``presign`` is what a person can fetch.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast
from urllib.parse import quote

from .config import Location, StorageConfig
from .errors import StorageError
from .keys import check_key

CHUNK_BYTES = 1024 * 1024
SHA256_METADATA = "sha256"  # object metadata name (x-amz-meta-sha256, GCS metadata["sha256"])


@dataclass(frozen=True)
class StoredObject:
    """What ``put_file`` stored: the key, its size, the sha256 of the bytes read, its URL."""

    key: str
    size_bytes: int
    sha256: str
    remote_url: str


@dataclass(frozen=True)
class ObjectInfo:
    """What ``stat`` found; ``sha256`` is None for an object not stored through ``put_file``."""

    key: str
    size_bytes: int
    sha256: str | None
    content_type: str | None


def file_sha256(path: Path) -> tuple[str, int]:
    """(hex sha256, size) of a file, read in 1 MiB chunks (memory does not grow with size)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def source_file(path: Path | str, key: str) -> Path:
    """The local file to store, or a StorageError naming it."""
    source = Path(path)
    if not source.is_file():
        raise StorageError(f"The file '{source}' to store as '{key}' does not exist.")
    return source


MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 (S3, R2) and GCS V4 signatures last at most 7 days


def check_expiry(expires_s: int) -> int:
    if not 1 <= int(expires_s) <= MAX_PRESIGN_S:
        raise StorageError(
            f"A presigned URL lasts from 1 second to 7 days; {expires_s} seconds was asked."
        )
    return int(expires_s)


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class _MappedRaw(io.RawIOBase):
    """A raw stream over a library's ``read(n)`` whose errors surface as ``StorageError``."""

    def __init__(
        self,
        read: Callable[[int], bytes],
        close: Callable[[], None],
        map_error: Callable[[Exception], StorageError],
    ) -> None:
        super().__init__()
        self._read, self._close, self._map_error = read, close, map_error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        try:
            data = self._read(len(buffer))
        except StorageError:
            raise
        except Exception as exc:
            raise self._map_error(exc) from None
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._close()
            finally:
                super().close()


def mapped_stream(
    read: Callable[[int], bytes],
    close: Callable[[], None],
    map_error: Callable[[Exception], StorageError],
) -> BinaryIO:
    """A buffered binary stream (1 MiB buffer) over ``read``; errors become StorageErrors."""
    return cast(BinaryIO, io.BufferedReader(_MappedRaw(read, close, map_error), CHUNK_BYTES))


class ArtifactStore(ABC):
    """Artifacts under relative keys; every method raises only ``StorageError`` subclasses."""

    location: Location

    def __init__(self, config: StorageConfig) -> None:
        self.config = config
        self.location = config.kind

    # -- keys and URLs -----------------------------------------------------------------------
    def object_name(self, key: str) -> str:
        """The backend's name for a key: the prefix + key (the local backend: the key)."""
        return self.config.prefix + check_key(key)

    def url(self, key: str) -> str:
        """``remote_url`` for a row: public base URL + object name when configured, else the
        backend's own URL (``s3://``, ``gs://``, ``file://``)."""
        name = self.object_name(key)
        if self.config.public_base_url:
            return f"{self.config.public_base_url}/{quote(name, safe='/')}"
        return self.native_url(name)

    @abstractmethod
    def native_url(self, name: str) -> str:
        """The backend's URL of an object name."""

    # -- where a run works -------------------------------------------------------------------
    def workspace(self, run_id: str | None) -> Path:
        """The folder steps of ``run_id`` write their files into before ``put_file``: with a
        bucket, the run worker's scratch (``scratch/<run_id>/``), emptied when the run ends, so a
        worker keeps no copy of anything."""
        return self.config.local_root / "scratch" / (run_id or "outside-a-run")

    def release_workspace(self, run_id: str | None) -> None:
        """Empty the run's scratch (the run ended, successfully or not)."""
        from .paths import remove

        remove(self.workspace(run_id), self.config.local_root)

    def row_path(self, key: str) -> str:
        """What ``media_files.file_path`` records for ``key``: the key itself for a bucket (stable
        whatever the prefix or endpoint)."""
        return check_key(key)

    # -- objects ---------------------------------------------------------------------------
    @abstractmethod
    def put_file(self, key: str, path: Path, content_type: str | None = None) -> StoredObject:
        """Store a local file under ``key`` (streamed; the source file is left in place)."""

    @abstractmethod
    def get_file(self, key: str, dest_path: Path) -> Path:
        """Write the object to ``dest_path`` (streamed) and return that path."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; close it (or use ``with``)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys (relative, sorted) that start with ``prefix``."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix`` (non-empty); return the count."""

    @abstractmethod
    def presign(self, key: str, expires_s: int = 3600) -> str:
        """A URL (or, for local files, a path) a reader can fetch without our credentials."""

    @abstractmethod
    def check(self) -> None:
        """Verify the bucket exists and the credentials work; raise a ``StorageError`` if not."""

    def close(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release clients and connection pools (no-op where there are none)."""

    def __enter__(self) -> ArtifactStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
