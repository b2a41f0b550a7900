"""Google Cloud Storage through google-cloud-storage.

Uploads are resumable in 8 MiB chunks and downloads stream to a temporary file beside the
destination, so memory does not grow with the file. Credentials: ``gcs_credentials_file`` (any
file google-auth loads: a service-account key, authorized user, workload identity) wins; unset,
the library resolves them (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud, the metadata server).
``emulator_host`` talks to an emulator anonymously. Presigned URLs are V4 signed URLs, which
need credentials that can sign (a service-account key); on an emulator without a key file,
``presign`` returns the emulator's plain download URL, which it serves without a signature.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from .base import (
    ArtifactStore,
    ObjectInfo,
    StoredObject,
    check_expiry,
    file_sha256,
    guess_content_type,
    mapped_stream,
    source_file,
)
from .config import StorageConfig
from .errors import BucketNotFoundError, StorageConfigError, StorageError
from .gcs_errors import GCS_ERRORS, gcs_error, is_not_found
from .keys import check_key

CHUNK = 8 * 1024 * 1024  # a multiple of 256 KiB, as resumable uploads require
SCOPES = ["https://www.googleapis.com/auth/devstorage.read_write"]


def load_credentials(config: StorageConfig) -> tuple[Any, str | None]:
    """(credentials, project) from ``gcs_credentials_file``, or (None, None) to let the
    library resolve them."""
    if config.gcs_credentials_file is None:
        return None, None
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    path = config.gcs_credentials_file
    if not path.is_file():
        raise StorageConfigError(f"The GCS credentials file '{path}' does not exist.")
    try:
        credentials, project = google.auth.load_credentials_from_file(str(path), scopes=SCOPES)
    except (DefaultCredentialsError, ValueError):
        raise StorageConfigError(
            f"The GCS credentials file '{path}' is not a credentials file google-auth can load."
        ) from None
    return credentials, project


def build_client(config: StorageConfig) -> tuple[Any, Any]:
    """(client, signing credentials or None)."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials, Signing
    from google.cloud import storage

    credentials, file_project = load_credentials(config)
    project = config.gcs_project or file_project
    signer = credentials if isinstance(credentials, Signing) else None
    if config.emulator_host:
        client = storage.Client(
            project=project or "media-analysis",
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=config.emulator_host),
        )
        return client, signer
    options = ClientOptions(api_endpoint=config.endpoint_url) if config.endpoint_url else None
    try:
        client = storage.Client(project=project, credentials=credentials, client_options=options)
    except GCS_ERRORS as exc:
        raise gcs_error(exc, config) from None
    found = getattr(client, "_credentials", None)
    return client, signer or (found if isinstance(found, Signing) else None)


class GcsStore(ArtifactStore):
    """Objects ``<prefix><key>`` in one GCS bucket."""

    def __init__(self, config: StorageConfig) -> None:
        super().__init__(config)
        self.client, self.signer = build_client(config)
        self.bucket = self.client.bucket(str(config.bucket))
        from google.cloud.storage.retry import DEFAULT_RETRY

        self._call: dict[str, Any] = {
            "timeout": config.timeout_s,
            "retry": DEFAULT_RETRY.with_timeout(config.timeout_s),
        }

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except GCS_ERRORS as exc:
            if key is not None and is_not_found(exc) and not self._bucket_exists():
                raise self._missing_bucket() from None
            raise gcs_error(exc, self.config, key) from None
        except OSError as exc:  # the local side of a transfer
            raise StorageError(
                f"The local file for '{key}' of bucket '{self.bucket.name}' could not be used: "
                f"{exc.strerror or 'the operating system refused'}."
            ) from None

    def _bucket_exists(self) -> bool:
        try:
            return bool(self.bucket.exists(**self._call))
        except GCS_ERRORS:
            return True  # cannot tell: report the original error

    def _missing_bucket(self) -> BucketNotFoundError:
        where = self.config.endpoint_label
        return BucketNotFoundError(f"The bucket '{self.bucket.name}' does not exist at {where}.")

    def native_url(self, name: str) -> str:
        return f"gs://{self.bucket.name}/{name}"

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> StoredObject:
        source, name = source_file(path, key), self.object_name(key)
        sha256, size = file_sha256(source)
        blob = self.bucket.blob(name, chunk_size=CHUNK)
        blob.metadata = {"sha256": sha256}
        with self._errors(key):
            blob.upload_from_filename(
                str(source),
                content_type=content_type or guess_content_type(source.name),
                timeout=self.config.timeout_s,
            )
        return StoredObject(key=key, size_bytes=size, sha256=sha256, remote_url=self.url(key))

    def get_file(self, key: str, dest_path: Path) -> Path:
        dest, blob = Path(dest_path), self.bucket.blob(self.object_name(key))
        with self._errors(key):
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            os.close(fd)
            try:
                blob.download_to_filename(tmp, **self._call)  # checks the md5/crc32c
                os.replace(tmp, dest)
            finally:
                Path(tmp).unlink(missing_ok=True)
        return dest

    def open(self, key: str) -> BinaryIO:
        blob = self.bucket.blob(self.object_name(key))
        with self._errors(key):
            blob.reload(**self._call)  # a missing object fails here, not at the first read
            reader = blob.open("rb", chunk_size=CHUNK, timeout=self.config.timeout_s)
        return mapped_stream(
            reader.read, reader.close, lambda exc: gcs_error(exc, self.config, key)
        )

    def exists(self, key: str) -> bool:
        with self._errors(key):
            found = bool(self.bucket.blob(self.object_name(key)).exists(**self._call))
        if not found and not self._bucket_exists():
            raise self._missing_bucket()
        return found

    def stat(self, key: str) -> ObjectInfo:
        with self._errors(key):
            blob = self.bucket.get_blob(self.object_name(key), **self._call)
        if blob is None:
            with self._errors(key):
                blob = self.bucket.blob(self.object_name(key))
                blob.reload(**self._call)  # raises the right not-found error
        return ObjectInfo(
            key=key,
            size_bytes=int(blob.size or 0),
            sha256=(blob.metadata or {}).get("sha256"),
            content_type=blob.content_type,
        )

    def _names(self, full: str, limit: int | None = None) -> list[str]:
        """Object names under a full prefix (the configured prefix included)."""
        with self._errors():
            blobs = self.client.list_blobs(
                self.bucket, prefix=full, max_results=limit, **self._call
            )
            return [blob.name for blob in blobs]

    def list(self, prefix: str) -> list[str]:
        strip = len(self.config.prefix)
        full = self.config.prefix + check_key(prefix, prefix=True)
        return sorted(name[strip:] for name in self._names(full))

    def delete_prefix(self, prefix: str) -> int:
        names = [self.object_name(key) for key in self.list(prefix)]
        for start in range(0, len(names), 100):  # a batch request carries 100 calls at most
            with self._errors(), self.client.batch(raise_exception=True):
                for name in names[start : start + 100]:
                    self.bucket.blob(name).delete(timeout=self.config.timeout_s)
        return len(names)

    def presign(self, key: str, expires_s: int = 3600) -> str:
        name, expires = self.object_name(key), check_expiry(expires_s)
        endpoint = self.config.emulator_host or self.config.endpoint_url
        if self.signer is None:
            if self.config.emulator_host:  # the emulator serves /<bucket>/<object> unsigned
                return f"{self.config.emulator_host}/{self.bucket.name}/{quote(name, safe='/')}"
            raise StorageConfigError(
                f"Presigned URLs for bucket '{self.bucket.name}' need a service-account key "
                "(GOOGLE_APPLICATION_CREDENTIALS) that can sign."
            )
        with self._errors(key):
            return str(
                self.bucket.blob(name).generate_signed_url(
                    version="v4",
                    expiration=timedelta(seconds=expires),
                    method="GET",
                    credentials=self.signer,
                    **({"api_access_endpoint": endpoint} if endpoint else {}),
                )
            )

    def check(self) -> None:
        """List one object under the prefix: proves the bucket, the credentials, list access."""
        self._names(self.config.prefix, limit=1)

    def close(self) -> None:
        self.client.close()
