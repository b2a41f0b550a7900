"""``media-analysis demo`` / ``make demo``: one request end to end on the embedded defaults.

SQLite tables and local files under ``MEDIA_ANALYSIS_DATA_DIR``, the offline ``internal``
provider (plus any provider whose key is set), the job executed in this process. Without a
file it analyses a generated 12-second video (``demo_video.py``, PyAV only) with four scenes
and one spoken English sentence, so the offline analysis has cuts, motion and speech to find.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .settings import Settings, load_settings


def _instance(settings: Settings) -> Any:
    from dagster import DagsterInstance

    return DagsterInstance.get() if settings.dagster_home else DagsterInstance.ephemeral()


PROMPTS = {
    "video": "What happens in this video?",
    "audio": "What is said in this recording?",
    "document": "Summarise this document.",
}
"""The demo's question for each detected media type (a PDF is not asked what happens in it)."""


def default_prompt(media: Path) -> str:
    """The demo's question for ``media``, by its content as the pipeline will see it; a file
    the sniffer cannot place gets the video question (the run then says what is wrong)."""
    from .media.sniff import sniff

    try:
        kind = sniff(media).media_type
    except Exception:  # a question is no reason to fail: the run reports what is wrong
        kind = None
    return PROMPTS.get(kind or "video", PROMPTS["video"])


def run_demo(media: Path | None = None, *, prompt: str | None = None) -> dict[str, Any]:
    """Run the job once in this process on ``media`` (default: a generated video) and return
    the request, its results, transcript and sheet paths; ``prompt`` defaults by media type."""
    from .db.engine import connect_engine
    from .db.schema import init_database
    from .db.store import Store
    from .definitions import build_definitions
    from .demo_video import DEMO_SENTENCE, DEMO_TITLE, make_demo_video

    settings = load_settings()
    inbox = settings.fetch.media_roots[0]
    inbox.mkdir(parents=True, exist_ok=True)
    spoken = shown = None
    if media is None:
        media, spoken, shown = make_demo_video(inbox / "demo.mp4"), DEMO_SENTENCE, DEMO_TITLE
    elif not media.resolve().is_relative_to(inbox.resolve()):
        media = Path(shutil.copy2(media, inbox / media.name))
    prompt = prompt or default_prompt(media)
    store = Store(connect_engine(settings.database.url))
    init_database(store.engine, settings.database.schema_dir)
    job = build_definitions(settings).resolve_job_def("media_analysis_job")
    config = {"media_path": str(media), "prompt": prompt, "source_endpoint": "demo"}
    with _instance(settings) as instance:
        result = job.execute_in_process(
            run_config={
                "ops": {"register_request": {"config": config}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            instance=instance,
            tags={"media_analysis/source": "demo"},
            raise_on_error=False,
        )
        run_id = result.run_id
        tags = instance.get_run_by_id(run_id).tags  # type: ignore[union-attr]
    request_id = tags.get("media_analysis/request_id")
    row = store.get_request(request_id) if request_id else None
    if row is None:
        return {"run_id": run_id, "success": result.success, "request": None}
    return _report(row, run_id, settings, spoken, shown)


def _report(
    row: dict[str, Any], run_id: str, settings: Settings, spoken: str | None, shown: str | None
) -> dict[str, Any]:
    """What the demo prints: the request, its results, what was heard and read, the files."""
    transcript = next((r for r in row["results"] if r["result_type"] == "transcription"), None)
    screen = next(
        (
            r
            for r in row["results"]
            if r["result_type"] == "text_analysis"
            and (r.get("content_json") or {}).get("kind") == "on_screen_text"
        ),
        None,
    )
    return {
        "run_id": run_id,
        "database": settings.database.redacted,
        "request": {
            k: v
            for k, v in row.items()
            if k not in ("results", "files", "contact_sheets", "provider_chain")
        },
        "results": [
            {
                k: r[k]
                for k in ("result_type", "provider", "model_name", "confidence_score", "content")
            }
            for r in row["results"]
        ],
        "transcript": {
            "spoken": spoken,
            "heard": transcript["content"] if transcript else None,
            "model": transcript["model_name"] if transcript else None,
        },
        "on_screen_text": {
            "shown": shown,
            "read": [i["text"] for i in (screen["content_json"] or {}).get("ocr_text", [])]
            if screen
            else None,
            "model": screen["model_name"] if screen else None,
        },
        "report": next(
            (f["file_path"] for f in row["files"] if f["file_type"] == "processed"), None
        ),
        "contact_sheets": [
            f["file_path"] for f in row["files"] if f["file_type"] == "contact_sheet"
        ],
        "subtitles": [f["file_path"] for f in row["files"] if f["file_type"] == "transcription"],
    }
