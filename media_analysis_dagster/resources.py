"""Dagster resources: the database, file storage, the media fetcher and the providers.

Resources hold configuration (typed fields shown in the UI) and hand out the objects that do the
work: a ``Store`` over a process-wide engine, paths under the data dir, fetch limits. Field
defaults of ``None`` mean "from the environment" (``settings.py``), so the same definitions
serve the embedded default and production without edits.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from . import settings
from .db.engine import get_engine
from .db.store import Store

if TYPE_CHECKING:
    from .media.fetch import FetchLimits


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
        self._store = Store(
            get_engine(
                self.resolved_url(), pool_size=self.pool_size, max_overflow=self.max_overflow
            )
        )

    @property
    def store(self) -> Store:
        """The store (also usable outside a run, e.g. in sensors, where setup is lazy)."""
        if self._store is None:
            self._store = Store(
                get_engine(
                    self.resolved_url(), pool_size=self.pool_size, max_overflow=self.max_overflow
                )
            )
        return self._store


class FileStorageResource(ConfigurableResource):
    """Generated files under ``MEDIA_ANALYSIS_DATA_DIR/requests/<request_id>/<step>/``.

    Each step writes into its own folder and empties it first, so a re-executed step replaces
    its files; deleting only ever happens inside the data dir.
    """

    data_dir: str | None = Field(
        default=None, description="Root of generated files; unset = MEDIA_ANALYSIS_DATA_DIR."
    )

    def root(self) -> Path:
        return Path(self.data_dir).absolute() if self.data_dir else settings.data_dir()

    def request_dir(self, request_id: str) -> Path:
        return self.root() / "requests" / str(request_id)

    def step_dir(self, request_id: str, step: str, *, fresh: bool = True) -> Path:
        path = self.request_dir(request_id) / step
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

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
    allow_private_urls: bool | None = Field(
        default=None,
        description="Let media_url reach private/loopback addresses; unset = "
        "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS.",
    )
    max_download_bytes: int = Field(default=2 * 1024**3, description="Download size limit.")
    download_timeout_s: float = Field(default=300.0, description="Total download time limit.")
    max_redirects: int = Field(default=5, description="Redirects followed (each re-checked).")

    def roots(self) -> list[Path]:
        if self.media_roots:
            return [Path(p).expanduser().absolute() for p in self.media_roots]
        return settings.media_roots()

    def limits(self) -> FetchLimits:
        from .media.fetch import FetchLimits

        allow = self.allow_private_urls
        if allow is None:
            allow = settings.flag(None, "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")
        return FetchLimits(
            max_bytes=self.max_download_bytes,
            timeout_s=self.download_timeout_s,
            max_redirects=self.max_redirects,
            allow_private=allow,
        )
