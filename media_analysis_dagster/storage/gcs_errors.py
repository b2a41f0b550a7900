"""google-cloud-storage, google-auth and requests errors → one-sentence ``StorageError``s.

A 404 from the JSON API does not say whether the bucket or the object is missing; the caller
asks the bucket before reporting an object as missing.
"""

from __future__ import annotations

import requests
from google.api_core import exceptions as api
from google.auth import exceptions as auth
from google.cloud.storage.exceptions import DataCorruption, InvalidResponse

from .config import StorageConfig
from .errors import (
    BucketNotFoundError,
    CredentialsError,
    ObjectNotFoundError,
    StorageError,
    StorageServiceError,
    StorageUnavailableError,
)

GCS_ERRORS = (
    api.GoogleAPIError,
    auth.GoogleAuthError,
    requests.RequestException,
    InvalidResponse,
    DataCorruption,
)
BUSY = (
    api.TooManyRequests,
    api.InternalServerError,
    api.BadGateway,
    api.ServiceUnavailable,
    api.GatewayTimeout,
)


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of an API or media-transfer error, if it has one."""
    if isinstance(exc, api.GoogleAPICallError) and exc.code is not None:
        return int(exc.code)
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return int(status) if isinstance(status, int) else None


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, api.NotFound) or status_of(exc) == 404


def gcs_error(exc: BaseException, config: StorageConfig, key: str | None = None) -> StorageError:
    """Translate one error; ``key`` names the object when there is one."""
    bucket, where = config.bucket, config.endpoint_label
    if isinstance(exc, api.RetryError) and exc.cause is not None:
        return gcs_error(exc.cause, config, key)  # retries ran out: report the last failure
    if isinstance(exc, auth.DefaultCredentialsError):
        return CredentialsError(f"No Google Cloud credentials were found for bucket '{bucket}'.")
    if isinstance(exc, auth.RefreshError) or status_of(exc) in {401, 403}:
        return CredentialsError(
            f"The storage service refused the credentials for bucket '{bucket}'."
        )
    if isinstance(exc, auth.TransportError | requests.RequestException | api.RetryError):
        return StorageUnavailableError(
            f"The storage endpoint {where} could not be reached for bucket '{bucket}'."
        )
    if is_not_found(exc):
        if key is None:
            return BucketNotFoundError(f"The bucket '{bucket}' does not exist at {where}.")
        return ObjectNotFoundError(f"The object '{key}' does not exist in bucket '{bucket}'.")
    if isinstance(exc, DataCorruption):
        return StorageServiceError(
            f"The transfer of '{key}' for bucket '{bucket}' failed its checksum.", transient=True
        )
    status = status_of(exc)
    if isinstance(exc, BUSY) or (status is not None and status >= 500):
        return StorageServiceError(
            f"The storage service at {where} failed ({status}) for bucket '{bucket}'.",
            transient=True,
        )
    message = str(getattr(exc, "message", "") or "").strip().splitlines()
    detail = f": {message[0].rstrip('.')}" if message else ""
    return StorageServiceError(
        f"The storage service at {where} refused a request for bucket '{bucket}' "
        f"({status or 'no status'}{detail})."
    )
