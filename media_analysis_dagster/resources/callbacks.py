"""``CallbackResource``: completion callbacks' signing key, where they may go, and the queue's
retry pace. Ending a request only records the callback (``pipeline/callbacks.py``); the
``callback_delivery_sensor`` delivers it (``triggers/callback_delivery.py``), so a slow receiver
holds no run slot and no other sensor's tick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import ConfigurableResource
from pydantic import Field

if TYPE_CHECKING:
    from ..net.addresses import AllowList


class CallbackResource(ConfigurableResource):
    """Completion callbacks: the signing secret (from MEDIA_ANALYSIS_CALLBACK_SECRET, never run
    config), where a callback may go, and how delivery is retried."""

    secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 key (MEDIA_ANALYSIS_CALLBACK_SECRET); unset = unsigned.",
    )
    allow: str = Field(
        default="",
        description="Networks or hosts a callback may reach besides public addresses "
        "(MEDIA_ANALYSIS_CALLBACK_ALLOW).",
    )
    timeout_s: float = Field(
        gt=0,
        description="One deadline over one delivery attempt (MEDIA_ANALYSIS_CALLBACK_TIMEOUT_S).",
    )
    max_attempts: int = Field(
        ge=1, description="Delivery attempts before giving up (MEDIA_ANALYSIS_CALLBACK_ATTEMPTS)."
    )
    ui_base_url: str | None = Field(
        default=None,
        description="The Dagster UI as receivers reach it, for the run link "
        "(MEDIA_ANALYSIS_DAGSTER_UI_URL).",
    )

    def allow_list(self) -> AllowList:
        from ..net.addresses import AllowList

        return AllowList.parse(self.allow, variable="MEDIA_ANALYSIS_CALLBACK_ALLOW")
