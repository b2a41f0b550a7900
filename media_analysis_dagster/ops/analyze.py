"""``plan_analyses`` (fan-out) and ``analyze`` (one mapped step per provider task).

A task is either the internal provider's (offline facts) or a fallback chain of AI providers
for one result type. Vision is planned per contact sheet (per group of page images for
documents), so a long video's sheets are described in parallel and each stays within the
providers' image limits. Provider failures never fail the step: every attempt is returned and
ends up in ``provider_chain``; only unexpected errors (a bug, the database) fail it. Every
result row carries ``metadata.task`` (the mapping key), which is what a re-executed step
replaces.
"""

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dagster import DynamicOut, DynamicOutput, MetadataValue, OpExecutionContext, Output, op

from ..db.rows import NewResult
from ..errors import describe
from ..providers.base import AnalysisTask, ProviderResult
from ..resources import DatabaseResource, ProvidersResource
from .common import materialize, resume_if_reexecution
from .pools import pooled

INTERNAL_TASKS = {
    "video": ["metadata_extraction", "scene_detection", "face_detection", "audio_analysis"],
    "audio": ["metadata_extraction", "audio_analysis"],
    "document": ["metadata_extraction", "text_analysis"],
}
PAGES_PER_VISION_TASK = 6


def _facts(media: dict[str, Any], branches: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind = {b["kind"]: b for b in branches}
    keys = ("file_name", "mime_type", "size_bytes", "sha256", "video", "audio", "pdf")
    facts = {k: media.get(k) for k in keys}
    if "document" in by_kind:
        facts["document"] = by_kind["document"]["info"]
    if "audio" in by_kind:
        facts["wav"] = by_kind["audio"]["wav"]
    if "sheets" in by_kind:
        facts["frames"] = len(by_kind["sheets"]["frames"])
        facts["contact_sheets"] = len(by_kind["sheets"]["sheets"])
    return {k: v for k, v in facts.items() if v is not None}


def build_task(
    request: dict[str, Any],
    media: dict[str, Any],
    branches: list[dict[str, Any]],
    result_type: str,
    part: dict[str, Any] | None = None,
) -> AnalysisTask:
    """The task for one result type; ``part`` narrows vision to some sheets or pages."""
    by_kind = {b["kind"]: b for b in branches}
    sheets = by_kind.get("sheets") or {}
    audio = by_kind.get("audio") or {}
    doc = by_kind.get("document") or {}
    text = Path(doc["text_path"]).read_text(encoding="utf-8") if doc.get("text_path") else None
    task = AnalysisTask(
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
        options=dict(request.get("provider_options") or {}),
    )
    if part:
        task = replace(
            task,
            contact_sheet_paths=tuple(part.get("contact_sheet_paths", ())),
            page_image_paths=tuple(part.get("page_image_paths", ())),
            options={**task.options, "part": part["index"], "parts": part["of"]},
        )
    return task


def _vision_parts(task: AnalysisTask) -> list[dict[str, Any]]:
    if task.contact_sheet_paths:
        groups = [{"contact_sheet_paths": [p]} for p in task.contact_sheet_paths]
    else:
        pages = list(task.page_image_paths)
        groups = [
            {"page_image_paths": pages[i : i + PAGES_PER_VISION_TASK]}
            for i in range(0, len(pages), PAGES_PER_VISION_TASK)
        ]
    return [{**g, "index": i + 1, "of": len(groups)} for i, g in enumerate(groups)]


def _applies(result_type: str, task: AnalysisTask) -> bool:
    if result_type in ("audio_analysis", "transcription"):
        return task.audio_path is not None
    if result_type == "face_detection":
        return bool(task.frame_paths)
    if result_type == "text_analysis":
        return bool(task.document_text and task.document_text.strip())
    return True


def plan_tasks(
    request: dict[str, Any],
    media: dict[str, Any],
    branches: list[dict[str, Any]],
    providers: ProvidersResource,
) -> list[dict[str, Any]]:
    """Every task this request needs, each with its mapping key."""
    media_type = media["media_type"]
    base = build_task(request, media, branches, "metadata_extraction")
    planned: list[dict[str, Any]] = []
    for result_type in INTERNAL_TASKS[media_type]:
        if _applies(result_type, base):
            planned.append({"key": result_type, "result_type": result_type, "kind": "internal"})

    def has_chain(result_type: str) -> bool:
        return any(
            p.name != "internal" and p.supports(result_type, media_type)
            for p in providers.chain(result_type, request.get("providers"))
        )

    if has_chain("transcription") and _applies("transcription", base):
        planned.append({"key": "transcription", "result_type": "transcription", "kind": "chain"})
    if has_chain("vision_analysis"):
        parts = _vision_parts(base)
        for part in parts:
            key = "vision_analysis" if len(parts) == 1 else f"vision_analysis_{part['index']}"
            planned.append(
                {"key": key, "result_type": "vision_analysis", "kind": "chain", "part": part}
            )
    return planned


@op(out=DynamicOut(dict), description="Decide which analyses apply; one mapped step each.")
def plan_analyses(
    context: OpExecutionContext,
    request: dict[str, Any],
    media: dict[str, Any],
    branches: list[dict[str, Any]],
    providers: ProvidersResource,
):
    planned = plan_tasks(request, media, branches, providers)
    names = ", ".join(f"{p['kind']}:{p['key']}" for p in planned)
    context.log.info(f"planned {names}; providers enabled: {', '.join(providers.enabled_names())}")
    for p in planned:
        yield DynamicOutput(
            {"request": request, "media": media, "branches": branches, **p},
            mapping_key=p["key"],
            metadata={"kind": p["kind"], "result_type": p["result_type"]},
        )


def result_row(r: ProviderResult, task_key: str) -> NewResult:
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
        metadata={**r.metadata, "task": task_key},
    )


def run_task(
    planned: dict[str, Any],
    providers: ProvidersResource,
    spent_usd: float,
    context: OpExecutionContext | None = None,
) -> dict[str, Any]:
    """Run one planned task; returns its results and attempts (the step's output)."""
    from ..providers.chain import Attempt, Budget, run_chain

    request, result_type = planned["request"], planned["result_type"]
    task = build_task(
        request, planned["media"], planned["branches"], result_type, planned.get("part")
    )
    if planned["kind"] == "internal":
        internal = providers.registry()["internal"]
        started = time.monotonic()
        try:
            results = internal.analyze_all(task)
            status, error = "success", None
        except Exception as exc:  # one offline analysis failing must not sink the others
            results, status, error = [], "error", describe(exc)
        ms = int((time.monotonic() - started) * 1000)
        attempts = [
            Attempt(
                "internal",
                result_type,
                "internal-v1",
                status,
                ms,
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
        if context is not None:
            chain = pooled(chain, context)
        outcome = run_chain(
            task,
            chain,
            budget=Budget(providers.budget_usd, spent_usd),
            retry_kwargs=providers.retry_kwargs(),
        )
        results = [outcome.result] if outcome.result else []
        attempts = outcome.attempts
    return {
        "key": planned["key"],
        "result_type": result_type,
        "kind": planned["kind"],
        "results": [r.to_dict() for r in results],
        "attempts": [{**a.to_dict(), "task": planned["key"]} for a in attempts],
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
    outcome = run_task(planned, providers, database.store.spent_usd(request_id), context)
    results = [ProviderResult(**r) for r in outcome["results"]]
    database.store.replace_rows(
        request_id,
        result_tasks=[outcome["key"]],
        results=[result_row(r, outcome["key"]) for r in results],
    )
    materialize(
        context, "media_analysis_results", request_id, task=outcome["key"], rows=len(results)
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
                        "tokens": r.token_count,
                        "cost_usd": r.cost_usd,
                        "content": (r.content or "")[:300],
                    }
                    for r in results
                ]
            ),
        },
    )
