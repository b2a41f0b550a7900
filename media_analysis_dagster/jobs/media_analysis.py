"""``media_analysis_job``: one run per request (``docs/architecture.md`` §1)."""

from __future__ import annotations

from dagster import job

from ..dagster_internals.executor import threaded_in_process_executor
from ..ops.analyze import analyze, plan_analyses
from ..ops.complete import aggregate, complete_request
from ..ops.extract import extract_audio, extract_document
from ..ops.fetch import fetch_media
from ..ops.hooks import mark_request_failed
from ..ops.register import register_request
from ..ops.video import build_contact_sheets, extract_frames


@job(
    executor_def=threaded_in_process_executor,
    hooks={mark_request_failed},
    description="Register, fetch, extract, analyse and complete one media-analysis request.",
)
def media_analysis_job() -> None:
    request = register_request()
    media, video, audio, document = fetch_media(request)
    sheets = build_contact_sheets(request, extract_frames(request, video))
    wav = extract_audio(request, audio)
    doc = extract_document(request, document)
    tasks = plan_analyses(request, media, [sheets, wav, doc])
    outcomes = tasks.map(analyze).collect()
    summary = aggregate(request, media, [sheets, wav, doc], outcomes)
    complete_request(request, summary)
