"""``StorageConfig``: everything a backend needs, passed in (storage reads no environment).

``settings.py`` builds it from the environment (DESIGN.md §3). A field left ``None`` means "let
the library resolve it": boto3 then reads ``AWS_*``, ``~/.aws`` and instance roles;
google-cloud-storage reads ``GOOGLE_APPLICATION_CREDENTIALS``, ``STORAGE_EMULATOR_HOST`` and the
metadata server. A field that is set always wins over the library's own resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast, get_args

from .errors import StorageConfigError

Location = Literal["local", "s3", "r2", "gcs"]
LOCATIONS: tuple[str, ...] = get_args(Location)
DEFAULT_PREFIX = "media-analysis/"


def normalize_prefix(prefix: str | None) -> str:
    """``'a/b'`` → ``'a/b/'``; ``''``/``None``/``'/'`` → ``''`` (objects at the bucket root)."""
    cleaned = "/".join(part for part in (prefix or "").split("/") if part)
    if any(part in {".", ".."} for part in cleaned.split("/")):
        raise StorageConfigError(f"The storage prefix '{prefix}' must not contain '.' or '..'.")
    return f"{cleaned}/" if cleaned else ""


def normalize_endpoint(url: str | None) -> str | None:
    """Add ``http://`` to a bare ``host:port`` (the form STORAGE_EMULATOR_HOST often takes)."""
    if not url:
        return None
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


@dataclass(frozen=True)
class StorageConfig:
    """Where artifacts live. Secrets are kept out of ``repr`` (and so out of logs)."""

    kind: Location = "local"
    local_root: Path = Path(".media_analysis")
    bucket: str | None = None
    prefix: str = DEFAULT_PREFIX
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    public_base_url: str | None = None
    gcs_project: str | None = None
    gcs_credentials_file: Path | None = None
    emulator_host: str | None = None
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        kind = (self.kind or "local").strip().lower()
        if kind not in LOCATIONS:
            raise StorageConfigError(
                f"The storage location '{self.kind}' is unknown; use one of {', '.join(LOCATIONS)}."
            )
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "kind", cast(Location, kind))
        set_(self, "local_root", Path(self.local_root).expanduser().absolute())
        set_(self, "prefix", normalize_prefix(self.prefix))
        set_(self, "endpoint_url", normalize_endpoint(self.endpoint_url))
        set_(self, "emulator_host", normalize_endpoint(self.emulator_host))
        set_(self, "public_base_url", (self.public_base_url or "").rstrip("/") or None)
        if self.gcs_credentials_file is not None:
            set_(self, "gcs_credentials_file", Path(self.gcs_credentials_file).expanduser())
        if kind != "local" and not (self.bucket or "").strip():
            raise StorageConfigError(
                f"Storage location '{kind}' needs a bucket (MEDIA_ANALYSIS_STORAGE_BUCKET)."
            )
        if kind == "r2" and not self.endpoint_url:
            raise StorageConfigError(
                "Storage location 'r2' needs the account's endpoint URL "
                "(https://<account>.r2.cloudflarestorage.com)."
            )
        if bool(self.access_key_id) != bool(self.secret_access_key):
            raise StorageConfigError(
                f"The access key id and the secret access key for bucket '{self.bucket}' "
                "must be given together."
            )
        if self.timeout_s <= 0:
            raise StorageConfigError("The storage timeout must be a positive number of seconds.")

    @property
    def endpoint_label(self) -> str:
        """Where the bucket is, for messages: the endpoint URL or the provider's name."""
        if self.kind == "gcs":
            return self.emulator_host or self.endpoint_url or "Google Cloud Storage"
        if self.endpoint_url:
            return self.endpoint_url
        return f"AWS S3 ({self.region})" if self.region else "AWS S3"
