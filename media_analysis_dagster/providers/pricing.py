"""List prices per (provider, model), so every result carries a ``cost_usd``.

Prices are USD: tokens per 1M, audio per minute. They are published pay-as-you-go list prices
gathered in June 2026 from the vendors' pricing pages (openai.com/api/pricing,
groq.com/pricing, platform.minimax.io pricing, anthropic.com/pricing, ai.google.dev pricing,
deepgram.com/pricing) and aggregator listings that mirror them. They drift: operators override
them (``price_overrides``) rather than waiting for a release. An unknown model costs 0.0 and
``is_priced`` says so, so a missing price is visible instead of silently wrong.

The ``*_bound`` functions at the end say the most one call can cost before it is made: the
budget cap reserves that much (``chain.run_chain``) and gives back the surplus afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
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


# --- upper bounds: what the budget reserves before a paid call ------------------------------
#
# A request's cap holds only if a call is never started without room for the most it can cost,
# so these are bounds, not guesses: the surplus is given back when the call reports its usage.

MESSAGE_OVERHEAD_TOKENS = 16  # role markers and separators per chat message (OpenAI counts ~4)
AUDIO_ROUNDING_S = 1.0  # per uploaded piece: vendors bill whole seconds


def text_tokens_bound(text: str) -> int:
    """Most tokens ``text`` can become: one per UTF-8 byte.

    Byte-level BPE (OpenAI, Anthropic, Llama) and SentencePiece with byte fallback (Gemini) never
    emit a token for less than one byte; English averages about four bytes a token, so this is
    generous for prose and exact for the worst case (random bytes, unusual scripts).
    """
    return len(text.encode("utf-8"))


def _openai_tiles(width: int, height: int) -> int:
    """512-px tiles after OpenAI's high-detail scaling: fit in 2048², then shortest side 768
    (scaled up as well as down here: whichever gives more tiles is the bound)."""
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        w, h = w * 2048 / max(w, h), h * 2048 / max(w, h)
    w, h = w * 768 / min(w, h), h * 768 / min(w, h)
    return math.ceil(w / 512 - 1e-9) * math.ceil(h / 512 - 1e-9)


def image_tokens_bound(model: str, width: int, height: int) -> int:
    """Most input tokens one image of ``width`` x ``height`` can be billed as.

    The vendors' published formulas: OpenAI high detail (fit in 2048², shortest side 768,
    512-px tiles; ``gpt-4o-mini`` bills 2833 + 5667 per tile, the others 85 + 170), 32-px
    patches up to 1536 times a model multiplier of at most 2.5 (gpt-4.1-mini/nano, o4-mini),
    Anthropic's w·h/750 (before its own downscaling), Gemini's 258 per 768-px tile. A model
    other than gpt-4o-mini gets the largest of them, since its vendor's formula is not ours to
    know.
    """
    w, h = max(1, width), max(1, height)
    tiles = _openai_tiles(w, h)
    if "gpt-4o-mini" in model.lower():
        return 2833 + 5667 * tiles
    patches = min(1536, math.ceil(w / 32) * math.ceil(h / 32))
    return max(
        85 + 170 * tiles,
        math.ceil(2.5 * patches),
        math.ceil(w * h / 750),
        258 * math.ceil(w / 768) * math.ceil(h / 768),
    )


def image_size(path: str | Path) -> tuple[int, int]:
    """Width and height from the image header (Pillow reads no pixels for this)."""
    from PIL import Image

    with Image.open(path) as image:
        return int(image.width), int(image.height)


def _message_text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(
        str(part.get("text", ""))
        for part in content or []
        if isinstance(part, Mapping) and part.get("type") == "text"
    )


def chat_cost_bound(
    provider: str,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    image_paths: Sequence[str | Path],
    *,
    max_output_tokens: int,
    overrides: PriceOverrides | None = None,
) -> float | None:
    """Most a chat completion can cost: every text byte a token, every image at its bound, and
    all of ``max_output_tokens`` (which caps reasoning tokens too); None when unpriced."""
    price = price_for(provider, model, overrides)
    if price is None:
        return None
    prompt = sum(MESSAGE_OVERHEAD_TOKENS + text_tokens_bound(_message_text(m)) for m in messages)
    prompt += sum(image_tokens_bound(model, *image_size(p)) for p in image_paths)
    return (
        prompt * price.input_per_mtok / 1_000_000
        + max(0, max_output_tokens) * price.output_per_mtok / 1_000_000
    )


def audio_seconds_bound(audio_path: str | None, facts: Mapping[str, Any]) -> float | None:
    """The audio's duration: from the WAV header, else the probed facts; None when unknown."""
    from .wav_chunks import is_wav, wav_duration

    if audio_path and Path(audio_path).is_file() and is_wav(audio_path):
        return wav_duration(audio_path)
    nested = [facts.get(k) for k in ("wav", "audio")]
    candidates = [facts.get("duration_s"), facts.get("duration")]
    candidates += [n.get("duration") for n in nested if isinstance(n, Mapping)]
    for value in candidates:
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


def audio_cost_bound(
    provider: str,
    model: str,
    audio_path: str | None,
    facts: Mapping[str, Any],
    *,
    max_piece_bytes: int | None = None,
    overrides: PriceOverrides | None = None,
) -> float | None:
    """Most a transcription can cost: the duration, plus a second per uploaded piece for
    rounding, at the per-minute price; None when unpriced or the duration is unknown."""
    price = price_for(provider, model, overrides)
    seconds = audio_seconds_bound(audio_path, facts)
    if price is None or seconds is None:
        return None
    pieces = 1
    if max_piece_bytes and audio_path and Path(audio_path).is_file():
        pieces = max(1, math.ceil(Path(audio_path).stat().st_size / max_piece_bytes))
    return (seconds + AUDIO_ROUNDING_S * pieces) / 60.0 * price.audio_per_minute
