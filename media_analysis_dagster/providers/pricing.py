"""List prices per (provider, model), so every result carries a ``cost_usd``.

Prices are USD: tokens per 1M, audio per minute. They are published pay-as-you-go list prices
gathered in June 2026 from the vendors' pricing pages (openai.com/api/pricing,
groq.com/pricing, platform.minimax.io pricing, anthropic.com/pricing, ai.google.dev pricing,
deepgram.com/pricing) and aggregator listings that mirror them. They drift: operators override
them (``price_overrides``) rather than waiting for a release. An unknown model costs 0.0 and
``is_priced`` says so, so a missing price is visible instead of silently wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Price:
    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    audio_per_minute: float = 0.0


DEFAULT_PRICES: dict[tuple[str, str], Price] = {
    # openai — gpt-4o-mini text+image input; transcription billed per audio minute.
    ("openai", "gpt-4o-mini"): Price(0.15, 0.60),
    ("openai", "gpt-4o"): Price(2.50, 10.00),
    ("openai", "whisper-1"): Price(audio_per_minute=0.006),
    ("openai", "gpt-4o-mini-transcribe"): Price(audio_per_minute=0.003),
    ("openai", "gpt-4o-transcribe"): Price(audio_per_minute=0.006),
    # groq — whisper priced per audio hour ($0.04 / $0.111), shown here per minute.
    ("groq", "whisper-large-v3-turbo"): Price(audio_per_minute=0.04 / 60),
    ("groq", "whisper-large-v3"): Price(audio_per_minute=0.111 / 60),
    ("groq", "llama-3.3-70b-versatile"): Price(0.59, 0.79),
    ("groq", "llama-3.1-8b-instant"): Price(0.05, 0.08),
    # minimax — M3 list price (a 50% launch promotion ran in June 2026), M2.x text models.
    ("minimax", "MiniMax-M3"): Price(0.60, 2.40),
    ("minimax", "MiniMax-M2.7"): Price(0.30, 1.20),
    ("minimax", "MiniMax-M2"): Price(0.30, 1.20),
    ("minimax", "MiniMax-VL-01"): Price(0.20, 1.10),
    # anthropic — through its OpenAI-compatible endpoint, same prices as the Messages API.
    ("anthropic", "claude-haiku-4-5"): Price(1.00, 5.00),
    ("anthropic", "claude-sonnet-4-5"): Price(3.00, 15.00),
    # google — Gemini Developer API paid tier, text/image input.
    ("google", "gemini-2.5-flash"): Price(0.30, 2.50),
    ("google", "gemini-2.5-flash-lite"): Price(0.10, 0.40),
    # deepgram — pre-recorded, pay-as-you-go, per audio minute (diarization add-on not included).
    ("deepgram", "nova-3"): Price(audio_per_minute=0.0043),
    ("deepgram", "nova-2"): Price(audio_per_minute=0.0043),
    # internal runs locally.
    ("internal", "*"): Price(),
}

PriceOverrides = Mapping[Any, "Price | Mapping[str, float]"]


def _as_price(value: Price | Mapping[str, float]) -> Price:
    if isinstance(value, Price):
        return value
    return Price(
        input_per_mtok=float(value.get("input_per_mtok", 0.0)),
        output_per_mtok=float(value.get("output_per_mtok", 0.0)),
        audio_per_minute=float(value.get("audio_per_minute", 0.0)),
    )


def price_for(provider: str, model: str, overrides: PriceOverrides | None = None) -> Price | None:
    """The price of one model; overrides are keyed ``(provider, model)`` or ``"provider/model"``.

    A ``"*"`` model matches every model of that provider.
    """
    for key in ((provider, model), f"{provider}/{model}", (provider, "*"), f"{provider}/*"):
        if overrides and key in overrides:
            return _as_price(overrides[key])
    return DEFAULT_PRICES.get((provider, model)) or DEFAULT_PRICES.get((provider, "*"))


def is_priced(provider: str, model: str, overrides: PriceOverrides | None = None) -> bool:
    return price_for(provider, model, overrides) is not None


def cost_for(
    provider: str,
    model: str,
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    audio_seconds: float = 0.0,
    overrides: PriceOverrides | None = None,
) -> float:
    """USD for one call from its usage; 0.0 when the model has no known price."""
    price = price_for(provider, model, overrides)
    if price is None:
        return 0.0
    return (
        prompt_tokens * price.input_per_mtok / 1_000_000
        + completion_tokens * price.output_per_mtok / 1_000_000
        + max(0.0, audio_seconds) / 60.0 * price.audio_per_minute
    )
