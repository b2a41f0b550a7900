"""The analysis cache: reuse an earlier request's AI results instead of paying for them again.

Two requests for the same file (the original's sha256), the same task (mapping key and result
type), the same prompt, options and frame/contact-sheet settings, served by a provider/model the
current chain would use, get the same answer. When the earlier request *completed* within the
maximum age, its rows are copied (``cost_usd`` 0, ``metadata.cache_hit`` naming the source row)
and ``provider_chain`` records a ``success`` attempt with ``cost_usd`` 0 and a ``cache_hit``
field, so ``provider_errors`` and ``api_costs`` stay right and nothing is billed twice.

Only AI provider results are cached: the internal provider is offline and free, so reusing its
rows would save nothing and hide a fix to its code. ``use_cache: false`` in run config (or a
pending row's ``user_metadata``) turns the lookup off; results are still keyed, so later
requests can reuse them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..contracts import FetchedMedia, RequestSpec
from ..providers.base import AnalysisTask, Provider, ProviderResult

if TYPE_CHECKING:
    from ..db.store import Store


CACHE_VERSION = 1  # bump when what a key covers changes, so old rows stop matching


def cache_key(
    request: RequestSpec, media: FetchedMedia, key: str, task: AnalysisTask
) -> str | None:
    """The hex digest that identifies one task's answer; None when the original has no checksum
    (nothing could prove two files equal)."""
    sha256 = media.original.sha256
    if not sha256:
        return None
    parts = {
        "v": CACHE_VERSION,
        "sha256": sha256,
        "media_type": media.media_type,
        "task": key,
        "result_type": task.result_type,
        "prompt": request.prompt or "",
        "options": task.options,
        "frames": [request.frame_count, request.grid_cols, request.grid_rows],
        "accurate_frames": request.accurate_frames,
        "scene_aware": request.scene_aware,
    }
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def summary_key(request: RequestSpec, media: FetchedMedia, task: AnalysisTask) -> str | None:
    """The key of a ``summary`` task: also its input, the other results' content, so a summary
    is reused only over the very same results (e.g. when every one of them was a cache hit)."""
    base = cache_key(request, media, "summary", task)
    if base is None:
        return None
    inputs = [
        [r.get("result_type"), r.get("provider"), r.get("content"), r.get("content_json")]
        for r in task.prior_results
    ]
    text = json.dumps([base, inputs], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed(results: Sequence[ProviderResult], key: str | None) -> list[ProviderResult]:
    """Fresh results with ``metadata.cache_key``, so a later request can find them."""
    if key is None:
        return list(results)
    return [replace(r, metadata={**r.metadata, "cache_key": key}) for r in results]


def _candidates(chain: Sequence[Provider], task: AnalysisTask) -> dict[str, str | None]:
    """Provider → model of the AI providers this chain would try for the task, in order."""
    out: dict[str, str | None] = {}
    for p in chain:
        if p.paid and p.supports(task.result_type, task.media_type):
            out[p.name] = p.model_for(task.result_type)
    return out


def _copy(row: dict[str, Any]) -> tuple[ProviderResult, dict[str, Any]]:
    hit = {
        "request_id": str(row["request_id"]),
        "result_id": str(row["result_id"]),
        "created_at": row.get("created_at"),
        "original_cost_usd": float(row.get("cost_usd") or 0.0),
    }
    meta = {k: v for k, v in (row.get("metadata") or {}).items() if k != "task"}
    confidence = row.get("confidence_score")
    result = ProviderResult(
        result_type=row["result_type"],
        provider=row["provider"],
        content=row.get("content"),
        content_json=row.get("content_json"),
        confidence=None if confidence is None else float(confidence),
        model_name=row.get("model_name"),
        token_count=row.get("token_count"),
        cost_usd=0.0,
        processing_time_ms=0,
        metadata={**meta, "cache_hit": hit},
    )
    return result, hit


def lookup(
    store: Store,
    task: AnalysisTask,
    key: str | None,
    chain: Sequence[Provider],
    max_age_s: float,
) -> tuple[list[ProviderResult], list[dict[str, Any]]] | None:
    """``(results, attempts)`` copied from the newest earlier completed request with this key,
    or None on a miss (then the chain runs as usual). Attempts are ``Attempt.to_dict()``-shaped
    plus ``cache_hit``."""
    checksum = task.facts.get("sha256")
    candidates = _candidates(chain, task)
    if key is None or not checksum or not candidates:
        return None
    started = time.monotonic()
    rows = store.cached_results(
        checksum=str(checksum),
        result_type=task.result_type,
        cache_key=key,
        providers=list(candidates),
        max_age_s=max_age_s,
        exclude_request_id=task.request_id,
    )
    rows = [r for r in rows if candidates[r["provider"]] in (None, r.get("model_name"))]
    if not rows:
        return None
    copies = [_copy(r) for r in rows]
    ms = int((time.monotonic() - started) * 1000)
    attempts = [
        {
            "provider": result.provider,
            "result_type": result.result_type,
            "model": result.model_name,
            "status": "success",
            "ms": ms,
            "cost_usd": 0.0,
            "error_type": None,
            "error": None,
            "retries": 0,
            "estimate_usd": 0.0,
            "cache_hit": hit,
        }
        for result, hit in copies[:1]
    ]
    return [result for result, _ in copies], attempts
