"""botocore/boto3 errors → ``StorageError``s with one sentence naming the bucket.

S3 error codes come from the response body; a HEAD request has none (``'404'``, ``'403'``), so
a 404 on an object is resolved by the caller (is the bucket there?) before it is reported.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ResponseStreamingError,
)

from .config import StorageConfig
from .errors import (
    BucketNotFoundError,
    CredentialsError,
    ObjectNotFoundError,
    StorageError,
    StorageServiceError,
    StorageUnavailableError,
)

REFUSED_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
    "AccessDenied",
    "AllAccessDisabled",
    "Unauthorized",
    "401",
    "403",
}
BUSY_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "503"}
UNREACHABLE = (ConnectionError, HTTPClientError, ResponseStreamingError, IncompleteReadError)


def client_error_code(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code") or status), int(status or 0)


def is_not_found(exc: BaseException) -> bool:
    if not isinstance(exc, ClientError):
        return False
    code, status = client_error_code(exc)
    return status == 404 or code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def s3_error(exc: BaseException, config: StorageConfig, key: str | None = None) -> StorageError:
    """Translate one botocore/boto3 error; ``key`` names the object when there is one."""
    bucket, where = config.bucket, config.endpoint_label
    cause = exc.__cause__ or exc.__context__
    if not isinstance(exc, ClientError | BotoCoreError) and isinstance(
        cause, ClientError | BotoCoreError
    ):
        exc = cause  # S3UploadFailedError / RetriesExceededError wrap the real error
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return CredentialsError(f"No storage credentials were found for bucket '{bucket}'.")
    if isinstance(exc, UNREACHABLE):
        return StorageUnavailableError(
            f"The storage endpoint {where} could not be reached for bucket '{bucket}'."
        )
    if isinstance(exc, ClientError):
        return _client_error(exc, config, key)
    detail = str(exc).rstrip(".") or "an unknown failure"
    return StorageServiceError(f"The storage client failed for bucket '{bucket}': {detail}.")


def _client_error(exc: ClientError, config: StorageConfig, key: str | None) -> StorageError:
    bucket, where = config.bucket, config.endpoint_label
    code, status = client_error_code(exc)
    if code == "NoSuchBucket":
        return BucketNotFoundError(f"The bucket '{bucket}' does not exist at {where}.")
    if is_not_found(exc):
        if key is None:
            return BucketNotFoundError(f"The bucket '{bucket}' does not exist at {where}.")
        return ObjectNotFoundError(f"The object '{key}' does not exist in bucket '{bucket}'.")
    if code in REFUSED_CODES or status in {401, 403}:
        return CredentialsError(
            f"The storage service refused the credentials for bucket '{bucket}'."
        )
    if code in BUSY_CODES or status >= 500:
        return StorageServiceError(
            f"The storage service at {where} failed ({code}) for bucket '{bucket}'.",
            transient=True,
        )
    message = str(exc.response.get("Error", {}).get("Message") or "").rstrip(".")
    return StorageServiceError(
        f"The storage service at {where} refused a request for bucket '{bucket}' "
        f"({code}{': ' + message if message else ''})."
    )
