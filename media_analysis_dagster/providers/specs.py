"""What differs between the API providers: key variable, endpoint, default models, abilities.

One ``ProviderSpec`` per provider keeps the client code generic (one class for every
OpenAI-compatible API); changing a default model or endpoint is a data change here, and
deployments override models per result type without code (``registry.build_providers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

# Which media each result type can be produced from, whatever the provider.
MEDIA_FOR_RESULT: dict[str, frozenset[str]] = {
    "transcription": frozenset({"audio", "video"}),
    "vision_analysis": frozenset({"video", "document"}),
    "summary": frozenset({"audio", "video", "document"}),
}
UPLOAD_LIMIT_BYTES = 25 * 1024 * 1024  # OpenAI's and Groq's (free tier) audio upload limit


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    key_env: str
    base_url: str
    models: Mapping[str, str]  # result_type -> default model
    strip_think: bool = False  # reasoning models that put <think>…</think> into content
    max_upload_bytes: int = UPLOAD_LIMIT_BYTES
    # Newer OpenAI models refuse max_tokens; Gemini's compatibility layer documents max_tokens.
    max_tokens_param: str = "max_completion_tokens"

    @property
    def result_types(self) -> frozenset[str]:
        return frozenset(self.models)

    @property
    def base_url_env(self) -> str:
        return f"{self.name.upper()}_BASE_URL"

    def with_models(self, models: Mapping[str, str] | None) -> ProviderSpec:
        """A copy with some models replaced; result types stay those the provider supports."""
        if not models:
            return self
        merged = {rt: models.get(rt, default) for rt, default in self.models.items()}
        return replace(self, models=merged)


OPENAI = ProviderSpec(
    name="openai",
    key_env="OPENAI_API_KEY",
    base_url="https://api.openai.com/v1",
    models={
        "vision_analysis": "gpt-4o-mini",
        "transcription": "whisper-1",  # verbose_json with segments; *-transcribe only do json
        "summary": "gpt-4o-mini",
    },
)
GROQ = ProviderSpec(
    name="groq",
    key_env="GROQ_API_KEY",
    base_url="https://api.groq.com/openai/v1",
    models={"transcription": "whisper-large-v3-turbo", "summary": "llama-3.3-70b-versatile"},
    strip_think=True,
)
MINIMAX = ProviderSpec(
    name="minimax",
    key_env="MINIMAX_API_KEY",
    base_url="https://api.minimax.io/v1",
    # MiniMax-M3 takes image_url parts on /v1/chat/completions (platform.minimax.io docs);
    # the M2 line is text-only. Both put their reasoning in <think> blocks inside content.
    models={"vision_analysis": "MiniMax-M3", "summary": "MiniMax-M2.7"},
    strip_think=True,
)
ANTHROPIC = ProviderSpec(
    name="anthropic",
    key_env="ANTHROPIC_API_KEY",
    base_url="https://api.anthropic.com/v1/",
    models={"vision_analysis": "claude-haiku-4-5", "summary": "claude-haiku-4-5"},
)
GOOGLE = ProviderSpec(
    name="google",
    key_env="GEMINI_API_KEY",
    base_url="https://generativelanguage.googleapis.com/v1beta/openai/",
    models={"vision_analysis": "gemini-2.5-flash", "summary": "gemini-2.5-flash"},
    max_tokens_param="max_tokens",
)
DEEPGRAM = ProviderSpec(
    name="deepgram",
    key_env="DEEPGRAM_API_KEY",
    base_url="https://api.deepgram.com",
    models={"transcription": "nova-3"},
    max_upload_bytes=2 * 1024**3,
)

OPENAI_COMPATIBLE_SPECS: dict[str, ProviderSpec] = {
    s.name: s for s in (OPENAI, GROQ, MINIMAX, ANTHROPIC, GOOGLE)
}
ALL_SPECS: dict[str, ProviderSpec] = {**OPENAI_COMPATIBLE_SPECS, DEEPGRAM.name: DEEPGRAM}
