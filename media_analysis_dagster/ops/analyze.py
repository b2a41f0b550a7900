"""``plan_analyses`` (fan-out) and ``analyze`` (one mapped step per provider task).

A task is either the internal provider's (offline facts) or a fallback chain of AI providers
for one result type. Provider failures never fail the step: every attempt is returned and ends
up in ``provider_chain``; only unexpected errors (a bug, the database) fail it.
"""

import time
from pathlib import Path
from typing import Any

from dagster import DynamicOut, DynamicOutput, MetadataValue, OpExecutionContext, Output, op

from ..db.rows import NewResult
from ..errors import describe
from ..providers.base import AnalysisTask, ProviderResult
from ..resources import DatabaseResource, ProvidersResource
from .common import materialize, resume_if_reexecution

INTERNAL_TASKS = {
    "video": ["metadata_extraction", "scene_detection", "face_detection", "audio_analysis"],
    "audio": ["metadata_extraction", "audio_analysis"],
    "document": ["metadata_extraction", "text_analysis"],
}
CHAIN_TASKS = ["vision_analysis", "transcription"]
# Result types one task writes (the scene pass measures motion too).
OWNS = {"scene_detection": ["scene_detection", "motion_analysis"]}


def _facts(media: dict[str, Any], branches: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind = {b["kind"]: b for b in branches}
    facts = {
        k: media.get(k)
        for k in ("file_name", "mime_type", "size_bytes", "sha256", "video", "audio", "pdf")
    }
    if "document" in by_kind:
        facts["document"] = by_kind["document"]["info"]
    if "audio" in by_kind:
        facts["wav"] = by_kind["audio"]["wav"]
    if "sheets" in by_kind:
        facts["frames"] = len(by_kind["sheets"]["frames"])
        facts["contact_sheets"] = len(by_kind["sheets"]["sheets"])
    return {k: v for k, v in facts.items() if v is not None}


def build_task(
    request: dict[str, Any], media: dict[str, Any], branches: list[dict[str, Any]], result_type: str
) -> AnalysisTask:
    by_kind = {b["kind"]: b for b in branches}
    sheets = by_kind.get("sheets") or {}
    audio = by_kind.get("audio") or {}
    doc = by_kind.get("document") or {}
    text = Path(doc["text_path"]).read_text(encoding="utf-8") if doc.get("text_path") else None
    return AnalysisTask(
        request_id=request["request_id"],
        result_type=result_type,
        media_type=media["media_type"],
        prompt=request.get("prompt"),
        original_path=media["path"],
        mime_type=media["mime_type"],
        frame_paths=tuple(f["path"] for f in sheets.get("frames", [])),
        frame_times=tuple(f["pts_time"] for f in sheets.get("frames", [])),
        contact_sheet_paths=tuple(s["path"] for s in sheets.get("sheets", [])),
        audio_path=audio.get("path"),
        page_image_paths=tuple(doc.get("page_images", [])),
        document_text=text,
        facts=_facts(media, branches),
    )


def _applies(result_type: str, task: AnalysisTask) -> bool:
    if result_type in ("audio_analysis", "transcription"):
        return task.audio_path is not None
    if result_type == "face_detection":
        return bool(task.frame_paths)
    if result_type == "text_analysis":
        return bool(task.document_text and task.document_text.strip())
    if result_type == "vision_analysis":
        return bool(task.contact_sheet_paths or task.page_image_paths)
    return True


@op(out=DynamicOut(dict), description="Decide which analyses apply; one mapped step each.")
def plan_analyses(
    context: OpExecutionContext,
    request: dict[str, Any],
    media: dict[str, Any],
    branches: list[dict[str, Any]],
    providers: ProvidersResource,
):
    planned = []
    for result_type in INTERNAL_TASKS[media["media_type"]]:
        task = build_task(request, media, branches, result_type)
        if _applies(result_type, task):
            planned.append((result_type, "internal"))
    for result_type in CHAIN_TASKS:
        task = build_task(request, media, branches, result_type)
        chain = [
            p
            for p in providers.chain(result_type, request.get("providers"))
            if p.name != "internal" and p.supports(result_type, media["media_type"])
        ]
        if chain and _applies(result_type, task):
            planned.append((result_type, "chain"))
    context.log.info(
        f"planned {', '.join(f'{kind}:{rt}' for rt, kind in planned)}; "
        f"providers enabled: {', '.join(providers.enabled_names())}"
    )
    for result_type, kind in planned:
        yield DynamicOutput(
            {
                "request": request,
                "media": media,
                "branches": branches,
                "result_type": result_type,
                "kind": kind,
            },
            mapping_key=result_type,
            metadata={"kind": kind, "result_type": result_type},
        )


def _row(r: ProviderResult) -> NewResult:
    return NewResult(
        result_type=r.result_type,
        provider=r.provider,
        model_name=r.model_name,
        content=r.content,
        content_json=r.content_json,
        confidence_score=None if r.confidence is None else round(r.confidence, 4),
        processing_time_ms=r.processing_time_ms,
        token_count=r.token_count,
        cost_usd=round(r.cost_usd or 0.0, 6),
        metadata=r.metadata,
    )


def run_task(
    planned: dict[str, Any], providers: ProvidersResource, spent_usd: float
) -> dict[str, Any]:
    """Run one planned task; returns results and attempts (the step's output)."""
    from ..providers.chain import Attempt, Budget, run_chain

    request, result_type = planned["request"], planned["result_type"]
    task = build_task(request, planned["media"], planned["branches"], result_type)
    if planned["kind"] == "internal":
        internal = providers.registry()["internal"]
        started = time.monotonic()
        try:
            results = internal.analyze_all(task)
            status, error = "success", None
        except Exception as exc:  # one offline analysis failing must not sink the others
            results, status, error = [], "error", describe(exc)
        attempts = [
            Attempt(
                "internal",
                result_type,
                "internal-v1",
                status,
                int((time.monotonic() - started) * 1000),
                0.0,
                None if error is None else "InternalAnalysisError",
                error,
            )
        ]
    else:
        chain = [
            p
            for p in providers.chain(result_type, request.get("providers"))
            if p.name != "internal"
        ]
        outcome = run_chain(task, chain, budget=Budget(providers.budget_usd, spent_usd))
        results = [outcome.result] if outcome.result else []
        attempts = outcome.attempts
    return {
        "result_type": result_type,
        "kind": planned["kind"],
        "results": [r.to_dict() for r in results],
        "attempts": [a.to_dict() for a in attempts],
    }


@op(description="Run one analysis task (internal facts, or a provider fallback chain).")
def analyze(
    context: OpExecutionContext,
    planned: dict[str, Any],
    database: DatabaseResource,
    providers: ProvidersResource,
) -> Output[dict[str, Any]]:
    request_id = planned["request"]["request_id"]
    resume_if_reexecution(context, database.store, request_id)
    outcome = run_task(planned, providers, database.store.spent_usd(request_id))
    results = [ProviderResult(**r) for r in outcome["results"]]
    owned = OWNS.get(outcome["result_type"], [outcome["result_type"]])
    database.store.replace_rows(request_id, result_types=owned, results=[_row(r) for r in results])
    materialize(
        context,
        "media_analysis_results",
        request_id,
        result_types=", ".join(owned),
        rows=len(results),
    )
    for a in outcome["attempts"]:
        if a["status"] != "success":
            context.log.warning(f"{a['provider']} {a['result_type']}: {a['status']}: {a['error']}")
    return Output(
        outcome,
        metadata={
            "status": "success" if results else "no result",
            "providers_tried": MetadataValue.json(
                [
                    {k: a[k] for k in ("provider", "status", "ms", "cost_usd", "error")}
                    for a in outcome["attempts"]
                ]
            ),
            "results": MetadataValue.json(
                [
                    {
                        "result_type": r.result_type,
                        "provider": r.provider,
                        "model": r.model_name,
                        "confidence": r.confidence,
                        "content": (r.content or "")[:300],
                    }
                    for r in results
                ]
            ),
        },
    )
