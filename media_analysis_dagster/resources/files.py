"""``FileStorageResource``: where the artifacts of requests live (``MEDIA_ANALYSIS_STORAGE``).

Steps write files into a folder of their own and call ``stored``, which puts them in the
artifact store and returns the ``ArtifactRef`` that later steps and the ``media_files`` rows use.
Every difference between keeping files locally and in a bucket is behind the storage interface
(``storage/``): where steps write (the data dir itself, or the run's scratch), what a row records
(the file's path, or its key), how a file is read back. A step's folder and objects are emptied
when it starts, so a re-executed step replaces its files; local deletes only ever happen inside
the data dir (``storage/paths.py``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from ..contracts import ArtifactRef
from .env_values import resolved

if TYPE_CHECKING:
    from ..storage import ArtifactStore, StorageConfig


class FileStorageResource(ConfigurableResource):
    """The files of requests (originals, frames, sheets, audio, transcripts, reports), kept as
    requests/<request_id>/<step>/<file> in the data directory or in a bucket."""

    data_dir: str = Field(description="Root of generated files (MEDIA_ANALYSIS_DATA_DIR).")
    storage: str = Field(
        default="local", description="local, s3, r2 or gcs (MEDIA_ANALYSIS_STORAGE)."
    )
    bucket: str | None = Field(default=None, description="MEDIA_ANALYSIS_STORAGE_BUCKET.")
    prefix: str = Field(default="", description="Key prefix in the bucket.")
    inbox_prefix: str = Field(
        default="inbox/",
        description="The only folder under the prefix an s3:// or gs:// media_url may name "
        "(MEDIA_ANALYSIS_STORAGE_INBOX_PREFIX).",
    )
    endpoint_url: str | None = Field(default=None, description="MEDIA_ANALYSIS_S3_ENDPOINT_URL.")
    region: str | None = Field(default=None, description="AWS_REGION.")
    access_key_id: str | None = Field(default=None, description="AWS_ACCESS_KEY_ID.")
    secret_access_key: str | None = Field(default=None, description="AWS_SECRET_ACCESS_KEY.")
    session_token: str | None = Field(default=None, description="AWS_SESSION_TOKEN.")
    public_base_url: str | None = Field(default=None, description="MEDIA_ANALYSIS_PUBLIC_BASE_URL.")
    gcs_project: str | None = Field(default=None, description="GOOGLE_CLOUD_PROJECT.")
    gcs_credentials_file: str | None = Field(
        default=None, description="GOOGLE_APPLICATION_CREDENTIALS."
    )
    emulator_host: str | None = Field(default=None, description="STORAGE_EMULATOR_HOST.")

    _store: ArtifactStore | None = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_id = context.run_id

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """When the run ends (success or failure): with a bucket the worker keeps no copy of
        anything, and the storage client's connections are closed."""
        if self._store is not None:
            self._store.release_workspace(self._run_id)
            self._store.close()
            self._store = None

    def root(self) -> Path:
        return Path(self.data_dir).expanduser().absolute()

    def config(self) -> StorageConfig:
        from ..storage import StorageConfig

        return StorageConfig(
            kind=self.storage,  # type: ignore[arg-type]
            local_root=self.root(),
            bucket=self.bucket,
            prefix=self.prefix,
            endpoint_url=self.endpoint_url,
            region=self.region,
            access_key_id=resolved(self.access_key_id),
            secret_access_key=resolved(self.secret_access_key),
            session_token=resolved(self.session_token),
            public_base_url=self.public_base_url,
            gcs_project=self.gcs_project,
            gcs_credentials_file=Path(self.gcs_credentials_file)
            if self.gcs_credentials_file
            else None,
            emulator_host=self.emulator_host,
        )

    def artifacts(self) -> ArtifactStore:
        """The artifact store (opened once per run)."""
        if self._store is None:
            from ..storage import open_store

            self._store = open_store(self.config())
        return self._store

    @property
    def remote(self) -> bool:
        return self.storage != "local"

    def workspace(self) -> Path:
        """Where this run's steps write (``ArtifactStore.workspace``)."""
        return self.artifacts().workspace(self._run_id)

    def request_dir(self, request_id: str) -> Path:
        return self.root() / "requests" / str(request_id)

    def step_dir(self, request_id: str, step: str, *, fresh: bool = True) -> Path:
        """The step's folder, emptied with its earlier files and objects unless ``fresh=False``."""
        from ..storage import step_prefix

        if fresh:
            self.discard_step(request_id, step)
        path = self.workspace() / step_prefix(str(request_id), step)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stored(self, path: Path, *, mime_type: str | None = None) -> ArtifactRef:
        """Put a file a step wrote in its folder into the store and return its reference."""
        store = self.artifacts()
        key = path.relative_to(self.workspace()).as_posix()
        mime = mime_type or mimetypes.guess_type(path.name)[0]
        put = store.put_file(key, path, content_type=mime)
        remote_url = put.remote_url if self.remote else None
        return ArtifactRef(
            store.location,
            store.row_path(key),
            put.size_bytes,
            put.sha256,
            mime,
            str(path),
            remote_url,
        )

    def local_copy(self, ref: ArtifactRef) -> Path:
        """A local file for the artifact: the run's own copy, else a download into this run's
        workspace (a re-executed step on another worker)."""
        if ref.local_path and Path(ref.local_path).exists():
            return ref.path
        if ref.location == "local":
            return ref.path
        dest = self.workspace() / ref.key
        if not dest.exists():
            self.artifacts().get_file(ref.key, dest)
        return dest

    def fetch_input(self, url: str, dest: Path, max_bytes: int) -> tuple[int, str]:
        """An original handed over as an ``s3://``/``gs://`` object in the inbox (n8n's upload
        path), read with the pipeline's own credentials; ``(size, sha256)``. Nothing is read
        unless the key is an upload (``storage/inbox.py``) within the size limit."""
        from ..storage import inbox_key
        from ..storage.base import file_sha256
        from ..storage.errors import StorageError
        from ..storage.inbox import shown_url

        store = self.artifacts()
        key = inbox_key(url, store.config, self.inbox_prefix)
        size = store.stat(key).size_bytes
        if size > max_bytes:
            raise StorageError(
                f"The object {shown_url(url)} is {size} bytes, over the limit of {max_bytes} "
                "bytes; raise MEDIA_ANALYSIS_MAX_MEDIA_BYTES to accept it."
            )
        store.get_file(key, dest)
        sha256, size = file_sha256(dest)
        return size, sha256

    def discard_step(self, request_id: str, step: str) -> None:
        """Remove a step's files and objects: a re-execution, or a step that failed."""
        from ..storage import step_prefix

        self._discard(step_prefix(str(request_id), step))

    def discard_request(self, request_id: str) -> None:
        """Remove every file and object of a request: bad input, or retention."""
        from ..storage import request_prefix

        self._discard(request_prefix(str(request_id)))

    def _discard(self, prefix: str) -> None:
        from ..storage.paths import remove

        self.artifacts().delete_prefix(prefix)
        remove(self.workspace() / prefix, self.root())  # the run's scratch copy, if any

    def read_recorded(self, file: dict[str, Any]) -> bytes:
        """The bytes of a ``media_files`` row's file: the local path, or the object in the
        bucket (the report embeds pictures and a document's text this way)."""
        if (file.get("storage_location") or "local") == "local":
            return Path(str(file["file_path"])).read_bytes()
        with self.artifacts().open(str(file["file_path"])) as handle:
            return bytes(handle.read())

    def reader_url(self, file: dict[str, object]) -> str | None:
        """A URL a receiver (n8n on another host) can fetch a ``media_files`` row from: presigned
        for a private bucket, the public URL when one is configured, the path for local files."""
        location = str(file.get("storage_location") or "local")
        path, remote_url = file.get("file_path"), file.get("remote_url")
        if location == "local" or not self.remote:
            return str(remote_url or path) if (remote_url or path) else None
        if isinstance(remote_url, str) and remote_url.startswith(("http://", "https://")):
            return remote_url
        try:
            return str(self.artifacts().presign(str(path), 24 * 3600))
        except Exception:  # a URL is a convenience; the key is in the tables
            return str(remote_url) if remote_url else None
