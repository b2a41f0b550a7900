"""Errors raised by artifact storage.

Every message is one readable sentence that names the bucket (or the data directory) and no
Python exception class, because it ends up verbatim in ``media_analysis_requests.error_message``
and in an operator's log. Backends translate their library's errors (botocore, google-api-core,
google-auth, requests, ``OSError``) into these::

    StorageError                    anything that kept an artifact from being stored or read
    ├── StorageConfigError          the configuration cannot work (no bucket, r2 without endpoint,
    │                               a GCS presign without a signing key)
    ├── InvalidKeyError             a key that is absolute, climbs out with '..', or is empty
    ├── BucketNotFoundError         the bucket does not exist at the endpoint
    ├── CredentialsError            credentials missing, refused, or without permission
    ├── ObjectNotFoundError         no object under that key
    ├── StorageUnavailableError     endpoint unreachable, connection dropped, timed out (transient)
    └── StorageServiceError         any other answer from the service (5xx are transient)
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class; ``hint`` tells an operator what to do, ``transient`` whether a retry may help."""

    hint: str = ""
    transient: bool = False

    def __init__(
        self, message: str, *, hint: str | None = None, transient: bool | None = None
    ) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        if transient is not None:
            self.transient = transient


class StorageConfigError(StorageError):
    hint = "Check MEDIA_ANALYSIS_STORAGE and the MEDIA_ANALYSIS_STORAGE_* settings."


class InvalidKeyError(StorageError):
    hint = "Keys are relative paths such as requests/<request_id>/<step>/<file name>."


class BucketNotFoundError(StorageError):
    hint = "Create the bucket, or fix MEDIA_ANALYSIS_STORAGE_BUCKET and the endpoint URL."


class CredentialsError(StorageError):
    hint = (
        "Check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (s3, r2) or "
        "GOOGLE_APPLICATION_CREDENTIALS (gcs), and that they may read and write the bucket."
    )


class ObjectNotFoundError(StorageError):
    hint = "The artifact was deleted (retention) or never stored."


class StorageUnavailableError(StorageError):
    hint = "Check the endpoint URL and the network; the step can be retried."
    transient = True


class StorageServiceError(StorageError):
    hint = "The storage service rejected the request; see its message in the logs."
