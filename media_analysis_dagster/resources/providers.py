"""``ProvidersResource``: which AI providers are enabled (by their keys) and how each result type
falls back, plus the offline provider's own settings (local speech-to-text, scene threshold)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, PrivateAttr

from .env_values import resolved

if TYPE_CHECKING:
    from ..providers.base import Provider


class ProvidersResource(ConfigurableResource):
    """The AI providers: a provider is on when its API key variable is set. Keys are read from
    the environment where the run executes and never appear in run config, tags, logs or the
    tables."""

    openai_api_key: str | None = Field(default=None, description="Enables openai.")
    deepgram_api_key: str | None = Field(default=None, description="Enables deepgram.")
    groq_api_key: str | None = Field(default=None, description="Enables groq.")
    minimax_api_key: str | None = Field(default=None, description="Enables minimax.")
    anthropic_api_key: str | None = Field(default=None, description="Enables anthropic.")
    google_api_key: str | None = Field(
        default=None, description="Enables google (Gemini); from GEMINI_API_KEY."
    )
    base_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-provider endpoint (<PROVIDER>_BASE_URL); unset = the provider's own.",
    )
    chains: dict[str, list[str]] | None = Field(
        default=None, description="Fallback order per result type; unset = the built-in chains."
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
        description="Per-request cost cap in USD (MEDIA_ANALYSIS_BUDGET_USD): a paid call is made "
        "only if the most it can cost still fits; reserved before the call. Unset = no cap.",
    )
    timeout_s: float = Field(
        gt=0, description="Total time of one provider call (MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S)."
    )
    max_response_bytes: int = Field(
        ge=1024, description="Largest answer read from a provider (bytes)."
    )
    cache_max_age_s: int = Field(
        ge=0, description="Reuse an identical earlier AI result this young (seconds); 0 = never."
    )
    max_retries: int = Field(
        ge=0, description="Retries of a transient error (timeout, 429, 5xx) per provider."
    )
    retry_base_delay_s: float = Field(
        ge=0, description="First backoff delay; doubles per retry, with full jitter."
    )
    whisper_model: str | None = Field(
        default=None,
        description="Local speech-to-text model (name or directory) of the internal provider; "
        "unset = off (MEDIA_ANALYSIS_WHISPER_MODEL).",
    )
    scene_threshold: float = Field(
        gt=0,
        le=255,
        description="Mean RGB difference (0-255) of consecutive thumbnails that counts as a hard "
        "cut (MEDIA_ANALYSIS_SCENE_THRESHOLD).",
    )

    ocr: bool = Field(
        default=False,
        description="Read text in frames and scanned pages offline (MEDIA_ANALYSIS_OCR=auto; "
        "off turns it off).",
    )

    _registry: dict[str, Provider] | None = PrivateAttr(default=None)

    def api_keys(self) -> dict[str, str | None]:
        """``{provider: key}``: each field is named ``<provider>_api_key``."""
        from ..providers.specs import ALL_SPECS

        return {name: resolved(getattr(self, f"{name}_api_key")) for name in ALL_SPECS}

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Close the SDK clients' HTTP connections when the run ends."""
        for provider in (self._registry or {}).values():
            provider.close()
        self._registry = None

    def registry(self) -> dict[str, Provider]:
        """Enabled providers by name, ``internal`` always among them."""
        if self._registry is None:
            from ..providers.internal import InternalProvider
            from ..providers.registry import build_providers

            self._registry = build_providers(
                self.api_keys(),
                self.base_urls,
                models=self.models,
                price_overrides=self.prices,
                timeout_s=self.timeout_s,
                max_response_bytes=self.max_response_bytes,
                internal=InternalProvider(
                    speech=self._speech(), scene_threshold=self.scene_threshold, ocr=self.ocr
                ),
            )
        return self._registry

    def _speech(self) -> Any:
        """Local speech-to-text for ``internal`` (None when no model is configured)."""
        if self.whisper_model is None:
            return None
        from ..providers.local_speech import LocalSpeechProvider

        return LocalSpeechProvider(model=self.whisper_model)

    def chain(self, result_type: str, requested: list[str] | None = None) -> list[Provider]:
        from ..providers.registry import chain_for

        return chain_for(result_type, self.registry(), requested=requested, chains=self.chains)

    def retry_kwargs(self) -> dict[str, Any]:
        return {"attempts": self.max_retries + 1, "base_delay": self.retry_base_delay_s}

    def enabled_names(self) -> list[str]:
        return sorted(self.registry())
