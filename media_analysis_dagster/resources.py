"""Dagster resources: the database, file storage, the media fetcher and the providers.

Resources hold configuration (typed fields shown in the UI) and hand out the objects that do the
work: a ``Store`` over a process-wide engine, paths under the data dir, fetch limits. Field
defaults of ``None`` mean "from the environment" (``settings.py``), so the same definitions
serve the embedded default and production without edits.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from . import settings
from .contracts import ArtifactRef

if TYPE_CHECKING:
    from .db.store import Store
    from .media.fetch import FetchLimits
    from .storage import ArtifactStore, StorageConfig


class DatabaseResource(ConfigurableResource):
    """The four tables. The engine is built once per process and checked with retries."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset = MEDIA_ANALYSIS_DATABASE_URL, SYNC_DATABASE_URL, "
        "DATABASE_URL, MEDIA_ANALYSIS_DB_* or the SQLite file in the data dir, in that order.",
    )
    pool_size: int = Field(default=5, description="Connections kept per process.")
    max_overflow: int = Field(default=10, description="Extra connections under load.")

    _store: Store | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return settings.normalize_database_url(self.url) if self.url else settings.database_url()

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._store = self._build_store()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close the engine's pooled connections when the run (or sensor tick) ends."""
        if self._store is not None:
            self._store.engine.dispose()
            self._store = None

    def _build_store(self) -> Store:
        from .db.engine import connect_engine
        from .db.schema import ensure_embedded_tables
        from .db.store import Store

        engine = connect_engine(
            self.resolved_url(), pool_size=self.pool_size, max_overflow=self.max_overflow
        )
        ensure_embedded_tables(engine)
        return Store(engine)

    @property
    def store(self) -> Store:
        """The store; built on first use outside Dagster's setup (a resource made by hand)."""
        if self._store is None:
            self._store = self._build_store()
        return self._store


class FileStorageResource(ConfigurableResource):
    """Where the artifacts of requests live (``MEDIA_ANALYSIS_STORAGE``: local, s3, r2, gcs).

    Steps write files into a folder of their own and hand them to ``stored``, which returns the
    ``ArtifactRef`` the next steps and the ``media_files`` rows use. ``local`` (the default) keeps
    them where they were written, ``MEDIA_ANALYSIS_DATA_DIR/requests/<request_id>/<step>/``,
    and the row's ``file_path`` is that path. With object storage, the data dir is the run
    worker's scratch (``scratch/<run_id>/…``, emptied when the run ends), each artifact is
    uploaded as it is made, and ``file_path`` is its stable key ``requests/<id>/<step>/<name>``.
    A step's folder and objects are emptied when it starts, so a re-executed step replaces its
    files; local deleting only ever happens inside the data dir.
    """

    data_dir: str | None = Field(
        default=None, description="Root of generated files; unset = MEDIA_ANALYSIS_DATA_DIR."
    )

    _store: Any = PrivateAttr(default=None)
    _run_id: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._run_id = context.run_id

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """When the run ends (success or failure): with object storage the worker keeps no
        copy of anything, and the storage client's connections are closed."""
        self.clear_scratch()
        if self._store is not None:
            self._store.close()
            self._store = None

    def root(self) -> Path:
        return Path(self.data_dir).absolute() if self.data_dir else settings.data_dir()

    def config(self) -> StorageConfig:
        return replace(settings.storage_config(), local_root=self.root())

    def artifacts(self) -> ArtifactStore:
        """The artifact store (opened once per run)."""
        if self._store is None:
            from .storage import open_store

            self._store = open_store(self.config())
        return self._store  # type: ignore[no-any-return]

    @property
    def remote(self) -> bool:
        return self.config().kind != "local"

    def scratch_root(self) -> Path:
        """Where steps write: the data dir itself for local storage, else this run's scratch."""
        if not self.remote:
            return self.root()
        return self.root() / "scratch" / (self._run_id or "outside-a-run")

    def request_dir(self, request_id: str) -> Path:
        return self.root() / "requests" / str(request_id)

    def step_dir(self, request_id: str, step: str, *, fresh: bool = True) -> Path:
        """The step's emptied folder (and, with object storage, its emptied key prefix)."""
        path = self.scratch_root() / "requests" / str(request_id) / step
        if fresh:
            self.discard_step(request_id, step)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def stored(
        self, path: Path, *, mime_type: str | None = None, sha256: str | None = None
    ) -> ArtifactRef:
        """Store a file a step wrote in its folder and return its reference. ``sha256`` is
        computed unless the caller hashed while copying."""
        import mimetypes

        from .storage.base import file_sha256

        mime = mime_type or mimetypes.guess_type(path.name)[0]
        if self.remote:
            key = path.relative_to(self.scratch_root()).as_posix()
            put = self.artifacts().put_file(key, path, content_type=mime)
            location = self.artifacts().location
            return ArtifactRef(
                location, key, put.size_bytes, put.sha256, mime, str(path), put.remote_url
            )
        if sha256 is None:
            sha256, _size = file_sha256(path)
        return ArtifactRef("local", str(path), path.stat().st_size, sha256, mime, str(path))

    def local_copy(self, ref: ArtifactRef) -> Path:
        """A local file for the artifact: the run's own copy, else a download into scratch (a
        re-executed step on another worker)."""
        if ref.location == "local" or (ref.local_path and Path(ref.local_path).exists()):
            return ref.path
        dest = self.scratch_root() / ref.key
        if not dest.exists():
            self.artifacts().get_file(ref.key, dest)
        return dest

    def fetch_object(self, url: str, dest: Path, max_bytes: int) -> Any:
        """An original handed over as ``s3://bucket/<prefix>key`` (``gs://`` for gcs): an object
        in the configured bucket under its prefix (n8n uploads with its own S3/GCS node), read
        with the pipeline's own credentials so the bucket stays private."""
        from urllib.parse import urlsplit

        from .errors import InvalidRequestError
        from .media.errors import MediaLimitError
        from .media.fetch import Fetched
        from .storage.base import file_sha256

        config, parts = self.config(), urlsplit(url)
        scheme = "gs" if config.kind == "gcs" else "s3"
        name = parts.path.lstrip("/")
        if not self.remote or parts.scheme != scheme or parts.netloc != config.bucket:
            where = f"{scheme}://{config.bucket}/" if self.remote else "no bucket (local storage)"
            raise InvalidRequestError(
                f"media_url {url} is not in the configured bucket: this deployment reads {where}."
            )
        if not name.startswith(config.prefix):
            raise InvalidRequestError(
                f"media_url {url} is outside the storage prefix {config.prefix!r} of bucket "
                f"'{config.bucket}'."
            )
        key = name[len(config.prefix) :]
        size = self.artifacts().stat(key).size_bytes
        if size > max_bytes:
            raise MediaLimitError(
                f"The object {url} is {size} bytes, over the {max_bytes}-byte limit."
            )
        self.artifacts().get_file(key, dest)
        sha256, size = file_sha256(dest)
        return Fetched(dest, size, sha256, "url", url, None)

    def discard_step(self, request_id: str, step: str) -> None:
        """Remove a step's files (and objects): a re-execution, or a step that failed."""
        from .storage import step_prefix

        if self.remote:
            self.artifacts().delete_prefix(step_prefix(str(request_id), step))
        self.remove(self.scratch_root() / "requests" / str(request_id) / step)

    def discard_request(self, request_id: str) -> None:
        """Remove every file (and object) of a request: bad input, or retention."""
        from .storage import request_prefix

        if self.remote:
            self.artifacts().delete_prefix(request_prefix(str(request_id)))
            self.remove(self.scratch_root() / "requests" / str(request_id))
        self.remove(self.request_dir(request_id))

    def clear_scratch(self) -> None:
        """With object storage, remove this run's scratch folder."""
        if self.remote and self._run_id is not None:
            self.remove(self.scratch_root())

    def is_inside(self, path: str | Path) -> bool:
        root = self.root().resolve()
        try:
            Path(path).resolve().relative_to(root)
        except ValueError:
            return False
        return True

    def remove(self, path: str | Path) -> bool:
        """Delete a file or folder inside the data dir; anything outside is left alone."""
        p = Path(path)
        if not self.is_inside(p) or p.resolve() == self.root().resolve():
            return False
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists() or p.is_symlink():
            p.unlink(missing_ok=True)
        else:
            return False
        return True


class FetcherResource(ConfigurableResource):
    """Where media may come from, and the download limits (DESIGN.md §6)."""

    media_roots: list[str] | None = Field(
        default=None,
        description="Directories media_path may point into; unset = "
        "MEDIA_ANALYSIS_MEDIA_ROOTS (default <data dir>/inbox).",
    )
    allow_private_urls: str | None = Field(
        default=None,
        description="Let media_url reach private/loopback addresses: 'true' for all, or a "
        "comma-separated list of networks (e.g. '10.0.0.0/8,127.0.0.0/8'); unset = "
        "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS, default none.",
    )
    max_download_bytes: int | None = Field(
        default=None,
        description="Download/copy size limit; unset = MEDIA_ANALYSIS_MAX_MEDIA_BYTES (2 GiB).",
    )
    download_timeout_s: float = Field(default=300.0, description="Total download time limit.")
    max_redirects: int = Field(default=5, description="Redirects followed (each re-checked).")

    def roots(self) -> list[Path]:
        if self.media_roots:
            return [Path(p).expanduser().absolute() for p in self.media_roots]
        return settings.media_roots()

    def _private_setting(self) -> str:
        raw = self.allow_private_urls
        return settings.allow_private_urls() if raw is None else raw.strip().lower()

    def limits(self) -> FetchLimits:
        from .media.fetch import FetchLimits

        max_bytes = self.max_download_bytes or settings.max_media_bytes()
        return FetchLimits(
            max_bytes=max_bytes,
            timeout_s=self.download_timeout_s,
            max_redirects=self.max_redirects,
            allow_private=self._private_setting() in {"1", "true", "yes", "on"},
        )

    def address_policy(self) -> Callable[[Any], bool] | None:
        """A predicate for addresses when only some private networks are allowed, else None
        (``FetchLimits.allow_private`` then decides: all private addresses, or none)."""
        import ipaddress

        from .media.fetch import is_public_address

        raw = self._private_setting()
        if raw in {"", "0", "false", "no", "off", "1", "true", "yes", "on"}:
            return None
        try:
            networks = [ipaddress.ip_network(n.strip()) for n in raw.split(",") if n.strip()]
        except ValueError as exc:
            raise ValueError(
                f"MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS must be true/false or networks: {exc}"
            ) from None
        return lambda ip: is_public_address(ip) or any(ip in net for net in networks)


class ProvidersResource(ConfigurableResource):
    """Which AI providers are enabled (by their keys) and how each result type falls back.

    Keys are wired with ``dagster.EnvVar`` in ``definitions.py``, so they are resolved in the
    run worker and never appear in run config, tags, logs or the tables.
    """

    openai_api_key: str | None = Field(default=None, description="Enables openai.")
    deepgram_api_key: str | None = Field(default=None, description="Enables deepgram.")
    groq_api_key: str | None = Field(default=None, description="Enables groq.")
    minimax_api_key: str | None = Field(default=None, description="Enables minimax.")
    anthropic_api_key: str | None = Field(default=None, description="Enables anthropic.")
    google_api_key: str | None = Field(
        default=None, description="Enables google (Gemini); from GEMINI_API_KEY."
    )
    base_urls: dict[str, str] | None = Field(
        default=None,
        description="Per-provider endpoint; unset = <PROVIDER>_BASE_URL or the provider's own.",
    )
    chains: dict[str, list[str]] | None = Field(
        default=None, description="Fallback order per result type (default DESIGN.md §5)."
    )
    models: dict[str, dict[str, str]] | None = Field(
        default=None, description="{provider: {result_type: model}} overrides."
    )
    prices: dict[str, dict[str, float]] | None = Field(
        default=None,
        description='{"provider/model": {"input_per_mtok", "output_per_mtok", '
        '"audio_per_minute"}} price overrides in USD.',
    )
    budget_usd: float | None = Field(
        default=None,
        description="Per-request cost cap in USD: a paid call is made only if the most it can "
        "cost still fits; reserved on the request row before the call.",
    )
    timeout_s: float = Field(default=120.0, description="Timeout of one provider call.")
    cache_max_age_s: int = Field(
        default=7 * 24 * 3600,
        description="Reuse an identical earlier AI result this young (seconds); 0 = never.",
    )
    max_retries: int = Field(
        default=3, description="Retries of a transient error (timeout, 429, 5xx) per provider."
    )
    retry_base_delay_s: float = Field(
        default=0.5, description="First backoff delay; doubles per retry, with full jitter."
    )

    _registry: dict[str, Any] | None = PrivateAttr(default=None)

    def api_keys(self) -> dict[str, str | None]:
        """``{provider: key}``: each field is named ``<provider>_api_key``."""
        from .providers.specs import ALL_SPECS

        return {name: getattr(self, f"{name}_api_key") for name in ALL_SPECS}

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close the SDK clients' HTTP connections when the run ends."""
        for provider in (self._registry or {}).values():
            close = getattr(provider, "close", None)
            if callable(close):
                close()
        self._registry = None

    def registry(self) -> dict[str, Any]:
        """Enabled providers by name, ``internal`` always among them."""
        if self._registry is None:
            from .providers.internal import InternalProvider
            from .providers.registry import build_providers

            urls = {**settings.provider_base_urls(), **(self.base_urls or {})}
            self._registry = build_providers(
                self.api_keys(),
                urls,
                models=self.models,
                price_overrides=self.prices,
                timeout_s=self.timeout_s,
                internal=InternalProvider(speech=self._speech()),
            )
        return self._registry

    def _speech(self) -> Any:
        """Local speech-to-text for ``internal`` (None when no model is configured)."""
        model = settings.whisper_model()
        if model is None:
            return None
        from .providers.local_speech import LocalSpeechProvider

        return LocalSpeechProvider(model=model)

    def chain(self, result_type: str, requested: list[str] | None = None) -> list[Any]:
        from .providers.registry import chain_for

        return chain_for(result_type, self.registry(), requested=requested, chains=self.chains)

    def retry_kwargs(self) -> dict[str, Any]:
        return {"attempts": self.max_retries + 1, "base_delay": self.retry_base_delay_s}

    def enabled_names(self) -> list[str]:
        return sorted(self.registry())


class CallbackResource(ConfigurableResource):
    """Completion callbacks (``callback_url``): one signed JSON POST when a request ends.

    Every path that ends a request (``complete_request``, the failure hook, the run-status and
    cancellation sensors, retention's stuck check) calls ``notify`` only when its own update
    ended the row, so a request's end is announced once. The secret is an ``EnvVar``
    (``MEDIA_ANALYSIS_CALLBACK_SECRET``), never run config.
    """

    secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 key (MEDIA_ANALYSIS_CALLBACK_SECRET); unset = unsigned.",
    )
    allow: str | None = Field(
        default=None,
        description="Networks or hosts a callback may reach besides public addresses; unset = "
        "MEDIA_ANALYSIS_CALLBACK_ALLOW.",
    )
    attempts: int = Field(default=5, description="Deliveries tried (backoff with jitter).")
    timeout_s: float = Field(default=10.0, description="Timeout of one delivery attempt.")

    def notify(
        self, store: Store, request_id: str, run: Any, files: FileStorageResource | None = None
    ) -> Any:
        """Deliver the end of ``request_id`` to its ``callback_url`` (run config, else the row's
        ``user_metadata``); returns the ``DeliveryOutcome``, or None without a callback URL."""
        from .callbacks import build_payload, deliver

        row = store.get_request(request_id)
        url = callback_url_of(row, run)
        if row is None or not url:
            return None
        results = row.get("results") or []
        summary = next((r["content"] for r in results if r["result_type"] == "summary"), None)
        payload = build_payload(
            request_id=request_id,
            status=row["status"],
            dagster_run_id=getattr(run, "run_id", None),
            error_message=row.get("error_message"),
            error_details=row.get("error_details"),
            summary=summary,
            result_types=[r["result_type"] for r in results],
            files=[{**f, "url": _reader_url(f, files)} for f in row.get("files") or []],
            api_costs=row.get("api_costs"),
            ui_base_url=settings.ui_base_url(),
            finished_at=str(row.get("completed_at") or ""),
        )
        allow = self.allow if self.allow is not None else settings.callback_allow()
        return deliver(
            url,
            payload,
            secret=self.secret,
            allow=allow,
            attempts=self.attempts,
            timeout=self.timeout_s,
        )


def callback_url_of(row: dict[str, Any] | None, run: Any) -> str | None:
    """``callback_url`` from the run's config (a GraphQL or launchpad launch), else from the
    pending row's ``user_metadata`` (n8n's PostgreSQL node)."""
    config = getattr(run, "run_config", None) or {}
    ops = config.get("ops") if isinstance(config, dict) else None
    url = (((ops or {}).get("register_request") or {}).get("config") or {}).get("callback_url")
    metadata = (row or {}).get("user_metadata")
    if not url and isinstance(metadata, dict):
        url = metadata.get("callback_url")
    return str(url) if url else None


def _reader_url(file: dict[str, Any], files: FileStorageResource | None) -> str | None:
    """A URL the receiver can fetch: presigned for a bucket without a public base URL."""
    location = file.get("storage_location") or "local"
    if location == "local" or files is None or not files.remote:
        return file.get("remote_url") or file.get("file_path")
    if file.get("remote_url", "").startswith(("http://", "https://")):
        return str(file["remote_url"])
    try:
        return str(files.artifacts().presign(file["file_path"], 24 * 3600))
    except Exception:  # a URL is a convenience; the key is in the tables
        return file.get("remote_url")
