"""Which analyses a request needs, and the task each one runs (``plan_analyses``).

A task is either the internal provider's (offline facts) or a fallback chain of AI providers
for one result type. Vision is planned per contact sheet (per group of page images for
documents), so a long video's sheets are described in parallel and each stays within the
providers' image limits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..contracts import (
    ArtifactRef,
    AudioTrack,
    Branch,
    ContactSheets,
    DocumentText,
    FetchedMedia,
    PlannedTask,
    RequestSpec,
)
from ..providers.base import AnalysisTask
from ..providers.internal import PLANNED_TASKS
from .cache import cache_key

PAGES_PER_VISION_TASK = 6


def _one(branches: Sequence[Branch], kind: type[Any]) -> Any:
    return next((b for b in branches if isinstance(b, kind)), None)


def _here(ref: ArtifactRef) -> Path:
    return ref.path


def build_task(
    request: RequestSpec,
    media: FetchedMedia,
    branches: Sequence[Branch],
    result_type: str,
    local: Callable[[ArtifactRef], Path] = _here,
) -> AnalysisTask:
    """The task for one result type, with every reference the earlier steps made (the document
    text stays in its artifact; ``PlannedTask.resolved`` reads it). ``local`` gives each
    artifact's file on this worker (a download when a re-execution runs elsewhere)."""
    sheets: ContactSheets | None = _one(branches, ContactSheets)
    audio: AudioTrack | None = _one(branches, AudioTrack)
    doc: DocumentText | None = _one(branches, DocumentText)
    frames = sheets.frames if sheets else None
    facts = media.facts()
    for branch in branches:
        facts.update(branch.facts())
    return AnalysisTask(
        request_id=request.request_id,
        result_type=result_type,
        media_type=media.media_type,
        prompt=request.prompt,
        original_path=str(local(media.original)),
        mime_type=media.mime_type,
        frame_paths=tuple(str(local(r)) for r in frames.artifacts) if frames else (),
        frame_times=tuple(f.pts_time for f in frames.frames) if frames else (),
        contact_sheet_paths=tuple(str(local(s.artifact)) for s in sheets.sheets) if sheets else (),
        audio_path=str(local(audio.wav)) if audio else None,
        page_image_paths=tuple(str(local(r)) for r in doc.page_images) if doc else (),
        facts=facts,
        options=dict(request.provider_options),
        scenes=frames.scenes if frames else None,
    )


def _vision_parts(task: AnalysisTask) -> list[dict[str, Any]]:
    if task.contact_sheet_paths:
        groups = [
            {"contact_sheet_paths": (p,), "page_image_paths": ()} for p in task.contact_sheet_paths
        ]
    else:
        pages = list(task.page_image_paths)
        groups = [
            {
                "contact_sheet_paths": (),
                "page_image_paths": tuple(pages[i : i + PAGES_PER_VISION_TASK]),
            }
            for i in range(0, len(pages), PAGES_PER_VISION_TASK)
        ]
    n = len(groups)
    return [
        {**g, "options": {**task.options, "part": i + 1, "parts": n}} for i, g in enumerate(groups)
    ]


def _applies(result_type: str, task: AnalysisTask, has_text: bool) -> bool:
    if result_type in ("audio_analysis", "transcription"):
        return task.audio_path is not None
    if result_type == "face_detection":
        return bool(task.frame_paths)
    if result_type == "text_analysis":  # a document's text, or what a video's frames show
        return has_text if task.media_type != "video" else bool(task.frame_paths)
    return True


def _chain_task(
    request: RequestSpec,
    media: FetchedMedia,
    key: str,
    task: AnalysisTask,
    text: ArtifactRef | None,
) -> PlannedTask:
    """A provider chain's task, keyed for the analysis cache (``pipeline/cache.py``)."""
    return PlannedTask(
        key,
        "chain",
        task,
        text,
        request.providers,
        cache_key=cache_key(request, media, key, task),
        use_cache=request.use_cache,
    )


def plan_tasks(
    request: RequestSpec,
    media: FetchedMedia,
    branches: Sequence[Branch],
    has_chain: Any,
    local: Callable[[ArtifactRef], Path] = _here,
    internal_does: Callable[[str], bool] = lambda result_type: True,
) -> list[PlannedTask]:
    """Every task this request needs; ``has_chain(result_type)`` says whether any AI provider
    (not ``internal``) can do that result type for this request, ``internal_does(result_type)``
    whether the offline provider is set up for it (on-screen text needs OCR on)."""
    doc: DocumentText | None = _one(branches, DocumentText)
    text = doc.text if doc else None
    has_text = bool(text and local(text).read_text(encoding="utf-8").strip())
    base = build_task(request, media, branches, "metadata_extraction", local)
    planned = [
        PlannedTask(rt, "internal", replace(base, result_type=rt), text, request.providers)
        for rt in PLANNED_TASKS[media.media_type]
        if _applies(rt, base, has_text) and internal_does(rt)
    ]
    if has_chain("transcription") and _applies("transcription", base, has_text):
        task = replace(base, result_type="transcription")
        planned.append(_chain_task(request, media, "transcription", task, None))
    if has_chain("vision_analysis"):
        parts = _vision_parts(base)
        for i, part in enumerate(parts, 1):
            key = "vision_analysis" if len(parts) == 1 else f"vision_analysis_{i}"
            task = replace(base, result_type="vision_analysis", **part)
            planned.append(_chain_task(request, media, key, task, text))
    return planned
