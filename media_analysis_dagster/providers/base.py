"""The provider interface: one ``AnalysisTask`` in, one ``ProviderResult`` out.

A task carries paths and facts produced by the earlier steps of a run (never secrets), so it
can be handed to any provider and logged. ``analyze`` raises ``ProviderError`` subclasses
(``media_analysis_dagster.providers.errors``) on failure; the fallback chain decides what next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..media.scenes import SceneMotionResult


@dataclass(frozen=True)
class AnalysisTask:
    """What one mapped ``analyze`` step works on.

    ``prior_results`` is filled only for ``summary`` tasks: the other results of the request
    as ``{"result_type", "provider", "content", "content_json"}`` dicts.
    """

    request_id: str
    result_type: str
    media_type: str  # video | audio | document (never auto: resolved by fetch_media)
    prompt: str | None = None
    original_path: str | None = None
    mime_type: str | None = None
    frame_paths: tuple[str, ...] = ()
    frame_times: tuple[float, ...] = ()
    contact_sheet_paths: tuple[str, ...] = ()
    audio_path: str | None = None
    page_image_paths: tuple[str, ...] = ()
    document_text: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    prior_results: tuple[dict[str, Any], ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    scenes: SceneMotionResult | None = None  # already detected (scene_aware frames)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ProviderResult:
    """One row of ``media_analysis_results``, before it is written."""

    result_type: str
    provider: str
    content: str | None
    content_json: dict[str, Any] | None
    confidence: float | None
    model_name: str | None
    token_count: int | None = None
    cost_usd: float = 0.0
    processing_time_ms: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Provider(Protocol):
    """What the registry hands to ``analyze``: everything the fallback chain, the budget, the
    analysis cache and the provider pools ask of a provider, so none of them guesses with
    ``getattr``."""

    name: str
    paid: bool  # a paid call reserves its most possible cost from the budget first

    def supports(self, result_type: str, media_type: str) -> bool: ...

    def model_for(self, result_type: str) -> str | None:
        """The model that answers ``result_type`` (recorded, and part of the cache match)."""
        ...

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        """The most the call can cost in USD; None when it cannot be bounded in advance."""
        ...

    def analyze(self, task: AnalysisTask) -> ProviderResult: ...

    def close(self) -> None:
        """Release clients and connections (the run ended)."""
        ...
