"""``FetcherResource``: where a request's media may come from, and the download limits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource
from pydantic import Field

if TYPE_CHECKING:
    from ..net.addresses import AllowList
    from ..net.download import FetchLimits


class FetcherResource(ConfigurableResource):
    """Where a request's media may come from: a media_path must lie in a media root; a media_url
    must reach a public address unless the allow list names it, within one deadline and a size
    limit."""

    media_roots: list[str] = Field(
        description="Directories media_path may point into (MEDIA_ANALYSIS_MEDIA_ROOTS)."
    )
    allow_private_urls: str = Field(
        default="",
        description="Private addresses media_url may reach (MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS): "
        "empty = public only, 'true' = any, or networks and host names such as "
        "'10.0.0.0/8,media.internal'.",
    )
    max_download_bytes: int = Field(
        ge=1, description="Size limit of a download or copy (MEDIA_ANALYSIS_MAX_MEDIA_BYTES)."
    )
    download_timeout_s: float = Field(
        gt=0, description="One deadline over a whole download (MEDIA_ANALYSIS_DOWNLOAD_TIMEOUT_S)."
    )
    max_redirects: int = Field(ge=0, description="Redirects followed, each one vetted again.")

    def roots(self) -> list[Path]:
        return [Path(p).expanduser().absolute() for p in self.media_roots]

    def allow(self) -> AllowList:
        from ..net.addresses import AllowList

        return AllowList.parse(
            self.allow_private_urls, variable="MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"
        )

    def limits(self) -> FetchLimits:
        from ..net.download import FetchLimits

        return FetchLimits(
            max_bytes=self.max_download_bytes,
            timeout_s=self.download_timeout_s,
            max_redirects=self.max_redirects,
        )
