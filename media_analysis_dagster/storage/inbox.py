"""Which bucket objects a request may name as its input: only uploads under the inbox prefix.

n8n uploads an original with its own S3/GCS node and hands over ``s3://bucket/<prefix>inbox/…``
(``gs://`` for gcs); the pipeline reads it with its own credentials, so the bucket stays private.
The same bucket holds every request's artifacts under ``<prefix>requests/``: a URL naming one of
those would let a request read, and get analysed back, another request's original, audio or
sheets. So an input key must lie under the inbox prefix (``MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX``,
default ``inbox/``), be a clean relative key (no ``..``, no empty parts, no backslashes), and is
never under ``requests/``.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .config import StorageConfig
from .errors import InvalidKeyError, StorageConfigError
from .keys import REQUESTS, check_key

INPUT_SCHEMES = ("s3://", "gs://")


def is_bucket_url(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(INPUT_SCHEMES)


def inbox_key(url: str, config: StorageConfig, inbox_prefix: str) -> str:
    """The relative key of an input object named by ``url``, or a ``StorageError`` saying in one
    sentence why this deployment does not read it."""
    if config.kind == "local":
        raise StorageConfigError(
            f"The media URL {url} names a bucket, but this deployment keeps its files locally "
            "(MEDIA_ANALYSIS_STORAGE=local); give an http(s) URL or a media_path instead."
        )
    scheme = "gs" if config.kind == "gcs" else "s3"
    parts = urlsplit(url)
    if parts.scheme.lower() != scheme or parts.netloc != config.bucket:
        raise InvalidKeyError(
            f"The media URL {url} is not in this deployment's bucket: it reads only "
            f"{scheme}://{config.bucket}/{config.prefix}{inbox_prefix}…"
        )
    name = unquote(parts.path).lstrip("/")
    if not name.startswith(config.prefix):
        raise InvalidKeyError(
            f"The media URL {url} is outside the storage prefix '{config.prefix}' of bucket "
            f"'{config.bucket}'."
        )
    key = name[len(config.prefix) :]
    try:
        check_key(key)
    except InvalidKeyError:
        raise InvalidKeyError(
            f"The media URL {url} does not name a clean object key (no '..', empty parts or "
            "backslashes)."
        ) from None
    if key.startswith(f"{REQUESTS}/") or not key.startswith(inbox_prefix):
        raise InvalidKeyError(
            f"The media URL {url} is not an upload: inputs are read only from "
            f"{scheme}://{config.bucket}/{config.prefix}{inbox_prefix} "
            "(MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX), never from another request's artifacts."
        )
    return key
