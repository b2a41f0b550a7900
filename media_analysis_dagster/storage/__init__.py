"""Where artifacts live: the data dir, S3, R2 or GCS behind one interface (``ArtifactStore``).

No Dagster import and no environment reads: ``settings.py`` builds a ``StorageConfig`` and
``open_store`` turns it into a store. Backends are imported only when chosen, so the local
default never loads boto3 or google-cloud-storage.

    from media_analysis_dagster.storage import StorageConfig, artifact_key, open_store

    with open_store(StorageConfig(kind="local", local_root=data_dir)) as store:
        stored = store.put_file(artifact_key(request_id, "frames", "sheet_01.jpg"), path)
"""

from __future__ import annotations

from .base import ArtifactStore, ObjectInfo, StoredObject
from .config import DEFAULT_PREFIX, LOCATIONS, Location, StorageConfig
from .errors import (
    BucketNotFoundError,
    CredentialsError,
    InvalidKeyError,
    ObjectNotFoundError,
    StorageConfigError,
    StorageError,
    StorageServiceError,
    StorageUnavailableError,
)
from .inbox import inbox_key, is_bucket_url
from .keys import artifact_key, check_key, request_prefix, step_prefix


def open_store(config: StorageConfig) -> ArtifactStore:
    """The store for ``config.kind``; close it (or use ``with``) to release its client."""
    if config.kind == "local":
        from .local import LocalStore

        return LocalStore(config)
    if config.kind in {"s3", "r2"}:
        from .s3 import S3Store

        return S3Store(config)
    from .gcs import GcsStore

    return GcsStore(config)


__all__ = [
    "DEFAULT_PREFIX",
    "LOCATIONS",
    "ArtifactStore",
    "BucketNotFoundError",
    "CredentialsError",
    "InvalidKeyError",
    "Location",
    "ObjectInfo",
    "ObjectNotFoundError",
    "StorageConfig",
    "StorageConfigError",
    "StorageError",
    "StorageServiceError",
    "StorageUnavailableError",
    "StoredObject",
    "artifact_key",
    "check_key",
    "inbox_key",
    "is_bucket_url",
    "open_store",
    "request_prefix",
    "step_prefix",
]
