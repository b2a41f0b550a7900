"""S3 and R2 (and MinIO): boto3 with managed transfers.

``put_file``/``get_file`` go through boto3's ``upload_file``/``download_file``: multipart in
8 MiB parts above 16 MiB, four parts in flight, read from and written to disk, so memory does
not grow with the file. The sha256 is computed in one streamed pass before the upload, because
S3 takes object metadata with the first request (``x-amz-meta-sha256``). R2 is this backend with
the account's endpoint and location ``r2``; any endpoint other than AWS gets path-style
addressing and checksums only where the API requires them (what S3-compatible services accept).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

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
from .errors import BucketNotFoundError, StorageError
from .keys import check_key
from .s3_errors import is_not_found, s3_error

MIB = 1024 * 1024
TRANSFER = TransferConfig(
    multipart_threshold=16 * MIB, multipart_chunksize=8 * MIB, max_concurrency=4
)
BOTO_ERRORS = (ClientError, BotoCoreError, Boto3Error)


_LOADER: Any = None
_LOADER_LOCK = threading.RLock()


def _session() -> Any:
    """A fresh boto3 session (its own credential resolution, nothing cached between stores)
    sharing one process-wide model loader: loading the S3 models costs about 0.5 s once,
    after which a client costs milliseconds."""
    global _LOADER
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = core.get_component("data_loader")
        core.register_component("data_loader", _LOADER)
    return boto3.session.Session(botocore_session=core)


def build_client(config: StorageConfig) -> Any:
    """An S3 client; unset credentials and region fall back to boto3's own resolution."""
    from botocore.config import Config

    options: dict[str, Any] = {}
    if config.endpoint_url:
        options.update(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
    client_config = Config(
        signature_version="s3v4",
        connect_timeout=min(10.0, config.timeout_s),
        read_timeout=config.timeout_s,
        retries={"mode": "standard", "max_attempts": 3},
        **options,
    )
    with _LOADER_LOCK:  # the shared loader fills its cache on the first client
        return _session().client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region or ("auto" if config.kind == "r2" else None),
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=config.secret_access_key,
            aws_session_token=config.session_token,
            config=client_config,
        )


class S3Store(ArtifactStore):
    """Objects ``<prefix><key>`` in one S3 (or R2) bucket."""

    def __init__(self, config: StorageConfig, client: Any | None = None) -> None:
        super().__init__(config)
        self.bucket = str(config.bucket)
        try:
            self.client = client if client is not None else build_client(config)
        except BOTO_ERRORS as exc:  # e.g. AWS_PROFILE names a profile that does not exist
            raise s3_error(exc, config) from None

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Translate library errors; an object 404 is checked against the bucket first."""
        try:
            yield
        except BOTO_ERRORS as exc:
            if key is not None and is_not_found(exc) and not self._bucket_exists():
                raise self._missing_bucket() from None
            raise s3_error(exc, self.config, key) from None
        except OSError as exc:  # the local side of a transfer (disk full, permissions)
            raise StorageError(
                f"The local file for '{key}' of bucket '{self.bucket}' could not be used: "
                f"{exc.strerror or 'the operating system refused'}."
            ) from None

    def _missing_bucket(self) -> BucketNotFoundError:
        where = self.config.endpoint_label
        return BucketNotFoundError(f"The bucket '{self.bucket}' does not exist at {where}.")

    def _bucket_exists(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except BOTO_ERRORS as exc:
            return not is_not_found(exc)
        return True

    def native_url(self, name: str) -> str:
        return f"s3://{self.bucket}/{name}"

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> StoredObject:
        source, name = source_file(path, key), self.object_name(key)
        sha256, size = file_sha256(source)
        extra = {
            "Metadata": {"sha256": sha256},
            "ContentType": content_type or guess_content_type(source.name),
        }
        with self._errors(key):
            self.client.upload_file(
                str(source), self.bucket, name, ExtraArgs=extra, Config=TRANSFER
            )
        return StoredObject(key=key, size_bytes=size, sha256=sha256, remote_url=self.url(key))

    def get_file(self, key: str, dest_path: Path) -> Path:
        dest, name = Path(dest_path), self.object_name(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._errors(key):  # boto3 writes a temporary file and renames it into place
            self.client.download_file(self.bucket, name, str(dest), Config=TRANSFER)
        return dest

    def open(self, key: str) -> BinaryIO:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=self.object_name(key))["Body"]
        return mapped_stream(body.read, body.close, lambda exc: self._stream_error(exc, key))

    def _stream_error(self, exc: Exception, key: str) -> StorageError:
        return s3_error(exc, self.config, key)

    def exists(self, key: str) -> bool:
        name = self.object_name(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except BOTO_ERRORS as exc:
            if not is_not_found(exc):
                raise s3_error(exc, self.config, key) from None
            if not self._bucket_exists():  # a missing bucket is an error, not "no object"
                raise self._missing_bucket() from None
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        with self._errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_name(key))
        return ObjectInfo(
            key=key,
            size_bytes=int(head["ContentLength"]),
            sha256=head.get("Metadata", {}).get("sha256"),
            content_type=head.get("ContentType"),
        )

    def list(self, prefix: str) -> list[str]:
        full = self.config.prefix + check_key(prefix, prefix=True)
        keys: list[str] = []
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        strip = len(self.config.prefix)
        return sorted(name[strip:] for name in keys)

    def delete_prefix(self, prefix: str) -> int:
        keys, count = self.list(prefix), 0
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at most
            batch = [{"Key": self.object_name(key)} for key in keys[start : start + 1000]]
            with self._errors():
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(
                    f"The storage service kept {len(answer['Errors'])} objects under "
                    f"'{prefix}' in bucket '{self.bucket}' ({first.get('Code')})."
                )
            count += len(batch)
        return count

    def presign(self, key: str, expires_s: int = 3600) -> str:
        params = {"Bucket": self.bucket, "Key": self.object_name(key)}
        with self._errors(key):
            return str(
                self.client.generate_presigned_url(
                    "get_object", Params=params, ExpiresIn=check_expiry(expires_s)
                )
            )

    def check(self) -> None:
        """List one key under the prefix: proves the bucket, the credentials and list access."""
        with self._errors():
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.config.prefix, MaxKeys=1)

    def close(self) -> None:
        self.client.close()
