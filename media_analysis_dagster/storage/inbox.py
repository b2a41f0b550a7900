"""Which bucket objects a request may name as its input: only uploads under the inbox prefix.

n8n uploads an original with its own S3/GCS node and hands over ``s3://bucket/<prefix>inbox/…``
(``gs://`` for gcs); the pipeline reads it with its own credentials, so the bucket stays private.
The same bucket holds every request's artifacts under ``<prefix>requests/``: a URL naming one of
those would let a request read, and get analysed back, another request's original, audio or
sheets. So an input key must lie under the inbox prefix (``MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX``,
default ``inbox/``), be a clean relative key (no ``..``, no empty parts, no backslashes), and is
never under ``requests/``.

A refusal is one sentence naming the URL (without its query string) and where uploads belong, so
whoever sent it can upload the file there and send the new URL.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from .config import StorageConfig
from .errors import InvalidKeyError, StorageConfigError
from .keys import REQUESTS, check_key

INPUT_SCHEMES = ("s3://", "gs://")
_SHOWN_CHARS = 200


def shown_url(url: str) -> str:
    """``url`` fit for one line of a message: no query string, credentials or control
    characters, at most ``_SHOWN_CHARS`` characters."""
    head = str(url).split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = head.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        head = f"{scheme}://{authority.rsplit('@', 1)[-1]}{slash}{path}"
    text = " ".join("".join(c if c.isprintable() else " " for c in head).split())
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def is_bucket_url(url: str | None) -> bool:
    return bool(url) and str(url).lower().startswith(INPUT_SCHEMES)


def inbox_key(url: str, config: StorageConfig, inbox_prefix: str) -> str:
    """The relative key of an input object named by ``url``, or a ``StorageError`` saying in one
    sentence why this deployment does not read it."""
    shown = shown_url(url)
    if config.kind == "local":
        raise StorageConfigError(
            f"The media URL {shown} names a bucket, but this deployment keeps its files locally "
            "(MEDIA_ANALYSIS_STORAGE=local); give an http(s) URL or a media_path instead."
        )
    scheme = "gs" if config.kind == "gcs" else "s3"
    uploads = f"{scheme}://{config.bucket}/{config.prefix}{inbox_prefix}"
    parts = urlsplit(url)
    if parts.scheme.lower() != scheme or parts.netloc != config.bucket:
        raise InvalidKeyError(
            f"The media URL {shown} is not in this deployment's bucket; upload the file under "
            f"{uploads} and send that URL."
        )
    name = unquote(parts.path).lstrip("/")
    if not name.startswith(config.prefix):
        raise InvalidKeyError(
            f"The media URL {shown} is outside the storage prefix '{config.prefix}' of bucket "
            f"'{config.bucket}'; upload the file under {uploads} and send that URL."
        )
    key = name[len(config.prefix) :]
    try:
        check_key(key)
    except InvalidKeyError:
        raise InvalidKeyError(
            f"The media URL {shown} does not name a clean object key (no '..', empty parts or "
            "backslashes)."
        ) from None
    if key.startswith(f"{REQUESTS}/") or not key.startswith(inbox_prefix):
        raise InvalidKeyError(
            f"The media URL {shown} is not an upload: inputs are read only from {uploads} "
            "(MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX), never from another request's artifacts; "
            "upload the file there and send that URL."
        )
    return key
