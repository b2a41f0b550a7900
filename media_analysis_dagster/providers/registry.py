"""Which providers exist for a run, and in what order each result type tries them.

A provider is enabled by its key alone (``OPENAI_API_KEY`` …, listed in the README);
``settings.py`` reads ``<PROVIDER>_BASE_URL`` and the resource receives the keys as ``EnvVar``s,
and both are passed in here, so this module reads no environment and can be tested with plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .base import Provider
from .chain import DEFAULT_CHAINS
from .pricing import PriceOverrides
from .specs import ALL_SPECS, OPENAI_COMPATIBLE_SPECS, ProviderSpec

PROVIDER_SPECS: Mapping[str, ProviderSpec] = ALL_SPECS


def build_providers(
    keys: Mapping[str, str | None],
    base_urls: Mapping[str, str | None],
    *,
    models: Mapping[str, Mapping[str, str]] | None = None,
    price_overrides: PriceOverrides | None = None,
    timeout_s: float = 120.0,
    max_response_bytes: int = 64 * 1024**2,
    internal: Provider | None = None,
) -> dict[str, Provider]:
    """One provider per non-empty key (plus ``internal`` when given), keyed by name.

    ``models`` is ``{provider: {result_type: model}}``; unknown providers in ``keys`` are
    ignored rather than guessed at. ``timeout_s`` is the total time of one API call and
    ``max_response_bytes`` the most of an answer read (``net.clients``).
    """
    from .deepgram import DeepgramProvider
    from .openai_compat import OpenAICompatibleProvider

    models = models or {}
    providers: dict[str, Provider] = {}
    for name, spec in PROVIDER_SPECS.items():
        key = (keys.get(name) or "").strip()
        if not key:
            continue
        base_url = base_urls.get(name) or None
        if name == "deepgram":
            providers[name] = DeepgramProvider(
                api_key=key,
                base_url=base_url,
                model=(models.get(name) or {}).get("transcription"),
                timeout_s=timeout_s,
                max_response_bytes=max_response_bytes,
                price_overrides=price_overrides,
            )
        elif name in OPENAI_COMPATIBLE_SPECS:
            providers[name] = OpenAICompatibleProvider(
                spec,
                api_key=key,
                base_url=base_url,
                models=models.get(name),
                timeout_s=timeout_s,
                max_response_bytes=max_response_bytes,
                price_overrides=price_overrides,
            )
    if internal is not None:
        providers[internal.name] = internal
    return providers


def chain_for(
    result_type: str,
    enabled: Mapping[str, Provider],
    *,
    requested: Sequence[str] | None = None,
    chains: Mapping[str, Sequence[str]] | None = None,
) -> list[Provider]:
    """The enabled providers to try for ``result_type``, in order.

    Result types without a chain (scene_detection, …) are the internal provider's. When a
    request names providers, only those are tried, in chain order, followed by named providers
    the chain does not list; ``internal`` stays in as the free offline fallback.
    """
    order = list((chains or DEFAULT_CHAINS).get(result_type) or ["internal"])
    if requested:
        wanted = [n.strip().lower() for n in requested if n and n.strip()]
        order = [n for n in order if n in wanted or n == "internal"]
        order += [n for n in wanted if n not in order]
        if "internal" in order:  # keep the free fallback last
            order = [n for n in order if n != "internal"] + ["internal"]
    seen: set[str] = set()
    out: list[Provider] = []
    for name in order:
        if name in enabled and name not in seen:
            seen.add(name)
            out.append(enabled[name])
    return out
