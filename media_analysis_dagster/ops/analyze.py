"""``plan_analyses`` (fan-out) and ``analyze`` (one mapped step per provider task).

Provider failures never fail the step: every attempt is returned and ends up in
``provider_chain``; only unexpected errors (a bug, the database) fail it. Every result row
carries ``metadata.task`` (the mapping key), which is what a re-executed step replaces.
"""

from dagster import DynamicOut, DynamicOutput, MetadataValue, OpExecutionContext, Output, op

from ..contracts import Branch, FetchedMedia, PlannedTask, RequestSpec, TaskOutcome
from ..pipeline.analysis import run_task
from ..pipeline.budget import StoreBudget
from ..pipeline.planning import plan_tasks
from ..pipeline.pools import pooled
from ..pipeline.progress import step_progress
from ..pipeline.rows import file_row, result_row
from ..pipeline.steps import (
    STEP_OUTPUTS,
    materialize,
    readable_failures,
    resume_if_reexecution,
    write_step_files,
)
from ..pipeline.views import scene_strip_markdown, transcript_markdown
from ..resources import DatabaseResource, FileStorageResource, ProvidersResource


@op(out=DynamicOut(PlannedTask), description="Decide which analyses apply; one mapped step each.")
@readable_failures
def plan_analyses(
    context: OpExecutionContext,
    request: RequestSpec,
    media: FetchedMedia,
    branches: list[Branch],
    providers: ProvidersResource,
    files: FileStorageResource,
):
    def has_chain(result_type: str) -> bool:
        chain = providers.chain(result_type, list(request.providers or []) or None)
        return any(p.supports(result_type, media.media_type) for p in chain)

    internal = providers.registry()["internal"]
    planned = plan_tasks(
        request,
        media,
        branches,
        has_chain,
        files.local_copy,
        internal_does=lambda rt: internal.supports(rt, media.media_type),
    )
    names = ", ".join(f"{p.kind}:{p.key}" for p in planned)
    context.log.info(f"planned {names}; providers enabled: {', '.join(providers.enabled_names())}")
    for p in planned:
        yield DynamicOutput(
            p, mapping_key=p.key, metadata={"kind": p.kind, "result_type": p.result_type}
        )


def _metadata(outcome: TaskOutcome) -> dict:
    tried = [
        {k: a[k] for k in ("provider", "status", "ms", "cost_usd", "error")}
        for a in outcome.attempts
    ]
    results = [
        {
            "result_type": r.result_type,
            "provider": r.provider,
            "model": r.model_name,
            "confidence": r.confidence,
            "tokens": r.token_count,
            "cost_usd": r.cost_usd,
            "content": (r.content or "")[:300],
        }
        for r in outcome.results
    ]
    return {
        "status": "success" if outcome.results else "no result",
        "providers_tried": MetadataValue.json(tried),
        "results": MetadataValue.json(results),
    }


def store_subtitles(
    context: OpExecutionContext,
    database: DatabaseResource,
    files: FileStorageResource,
    request_id: str,
    outcome: TaskOutcome,
) -> None:
    """The transcript as ``.srt`` and ``.vtt`` files (``media_files.file_type='transcription'``),
    whichever provider made it."""
    from ..providers.local_speech import subtitle_files

    step = "analyze[transcription]"
    out_dir = files.step_dir(request_id, STEP_OUTPUTS[step][0])
    refs = []
    for result in outcome.results:
        if not (result.content or "").strip():
            continue  # nothing was said: no subtitles
        for ext, text in subtitle_files(result).items():
            path = out_dir / f"transcript.{ext}"
            path.write_text(text, encoding="utf-8")
            mime = "application/x-subrip" if ext == "srt" else "text/vtt"
            refs.append(files.stored(path, mime_type=mime))
    rows = [file_row(r, "transcription") for r in refs]
    write_step_files(context, database.store, request_id, rows, step=step)


def store_scene_pictures(
    context: OpExecutionContext,
    database: DatabaseResource,
    files: FileStorageResource,
    planned: PlannedTask,
    outcome: TaskOutcome,
) -> str | None:
    """One small picture per scene (``media_files.file_type='thumbnail'``, ``sequence_order``
    the scene's index), for the report's timeline; the strip of them as Markdown for the UI."""
    from ..media.scene_strip import scene_thumbnails

    scenes = next((r for r in outcome.results if r.result_type == "scene_detection"), None)
    if scenes is None or not planned.task.original_path:
        return None
    step, request_id = "analyze[scene_detection]", planned.task.request_id
    cuts = list((scenes.content_json or {}).get("cut_times") or [])
    starts = [0.0, *cuts]
    out_dir = files.step_dir(request_id, STEP_OUTPUTS[step][0])
    thumbs = scene_thumbnails(planned.task.original_path, starts, out_dir)
    rows = [
        file_row(
            files.stored(t.path, mime_type="image/jpeg"),
            "thumbnail",
            width=t.width,
            height=t.height,
            sequence_order=t.index,
        )
        for t in thumbs
    ]
    write_step_files(context, database.store, request_id, rows, step=step)
    return scene_strip_markdown(thumbs, scene_count=len(starts))


@op(description="Run one analysis task (internal facts, or a provider fallback chain).")
@readable_failures
def analyze(
    context: OpExecutionContext,
    planned: PlannedTask,
    database: DatabaseResource,
    providers: ProvidersResource,
    files: FileStorageResource,
) -> Output[TaskOutcome]:
    request_id, store = planned.task.request_id, database.store
    resume_if_reexecution(context, store, request_id)
    budget = StoreBudget(store, request_id, providers.budget_usd)
    with step_progress(context) as report:
        outcome = run_task(
            planned,
            providers,
            budget,
            pooled=lambda chain: pooled(chain, context),
            local=files.local_copy,
            store=store,
            report=report,
        )
    rows = [result_row(r, outcome.key) for r in outcome.results]
    store.replace_rows(request_id, result_tasks=[outcome.key], results=rows)
    materialize(context, "media_analysis_results", request_id, task=outcome.key, rows=len(rows))
    metadata = _metadata(outcome)
    if outcome.result_type == "transcription":
        store_subtitles(context, database, files, request_id, outcome)
        if outcome.results:
            metadata["transcript"] = MetadataValue.md(transcript_markdown(outcome.results[0]))
    elif outcome.result_type == "scene_detection":
        strip = store_scene_pictures(context, database, files, planned, outcome)
        if strip:
            metadata["scenes"] = MetadataValue.md(strip)
    for a in outcome.attempts:
        if a.get("cache_hit"):
            context.log.info(f"{a['provider']} {a['result_type']}: cache hit {a['cache_hit']}")
        elif a["status"] != "success":
            context.log.warning(f"{a['provider']} {a['result_type']}: {a['status']}: {a['error']}")
    return Output(outcome, metadata=metadata)
