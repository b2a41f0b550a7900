"""``extract_audio`` and ``extract_document``: the audio and document branches."""

import time
from pathlib import Path

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import AudioTrack, DocumentText, FetchedMedia, RequestSpec
from ..media.document_info import DocumentInfo
from ..pipeline.progress import step_progress
from ..pipeline.reading import read_scanned_pages
from ..pipeline.rows import document_segments, file_row
from ..pipeline.steps import begin_file_step, readable_failures, write_step_files
from ..resources import DatabaseResource, FileStorageResource, ProvidersResource


@op(description="Decode the first audio track to 16 kHz mono WAV for analysis/transcription.")
@readable_failures
def extract_audio(
    context: OpExecutionContext,
    request: RequestSpec,
    audio: FetchedMedia,
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[AudioTrack]:
    from ..media.audio import extract_wav

    started, rid = time.monotonic(), request.request_id
    out = begin_file_step(context, database.store, files, rid) / "audio_16k_mono.wav"
    with step_progress(context) as report:
        decoded = report.counting("decoded {done} of {total} s of audio")
        info = extract_wav(
            files.local_copy(audio.original), out, sample_rate=16000, on_progress=decoded
        )
        [ref] = report.store_each(
            [out], lambda path: files.stored(path, mime_type="audio/wav"), remote=files.remote
        )
    row = file_row(ref, "audio", duration_seconds=info.duration)
    write_step_files(context, database.store, rid, [row], path=ref.key)
    return Output(
        AudioTrack(rid, ref, info, audio.audio),
        metadata={
            "duration_s": round(info.duration, 3),
            "sample_rate": info.sample_rate,
            "decode_ms": int((time.monotonic() - started) * 1000),
            "path": MetadataValue.path(ref.key),
        },
    )


def _read_document(
    context: OpExecutionContext,
    document: FetchedMedia,
    out_dir: Path,
    files: FileStorageResource,
    providers: ProvidersResource,
) -> tuple[DocumentInfo, str | None]:
    """The document's text and page images; pages without a text layer are read by OCR
    (``pipeline/reading.py``) unless MEDIA_ANALYSIS_OCR is off. Progress lines for both."""
    from ..media.documents import inspect_document
    from ..media.ocr import DOCUMENT_BUDGET_S

    original = files.local_copy(document.original)
    with step_progress(context) as report:
        pages_read = report.counting("read {done} of {total} pages")
        info = inspect_document(
            original, out_dir, mime_type=document.mime_type, on_progress=pages_read
        )
        note = None
        if providers.ocr:
            scanned = report.counting("read the text of {done} of {total} scanned pages")
            info, note = read_scanned_pages(info, budget_s=DOCUMENT_BUDGET_S, on_progress=scanned)
    if note:
        context.log.warning(note)
    return info, note


@op(description="Read a PDF, text file or image: metadata, text per page, images for vision.")
@readable_failures
def extract_document(
    context: OpExecutionContext,
    request: RequestSpec,
    document: FetchedMedia,
    database: DatabaseResource,
    files: FileStorageResource,
    providers: ProvidersResource,
) -> Output[DocumentText]:
    started, rid = time.monotonic(), request.request_id
    out_dir = begin_file_step(context, database.store, files, rid)
    info, note = _read_document(context, document, out_dir, files, providers)
    with step_progress(context) as report:
        text_path = out_dir / "text.txt"
        text_path.write_text(info.text, encoding="utf-8")
        text = files.stored(text_path, mime_type="text/plain")
        pages = [p.image_path for p in info.pages if p.image_path]
        images = tuple(report.store_each(pages, files.stored, remote=files.remote))
    rows = [file_row(text, "document")] + [
        file_row(ref, "preview", sequence_order=i, width=info.width, height=info.height)
        for i, ref in enumerate(images)
    ]
    write_step_files(context, database.store, rid, rows, segments=document_segments(info))
    return Output(
        DocumentText(rid, info, text, images),
        metadata={
            "kind": info.kind,
            "pages": info.page_count,
            "characters": info.char_count,
            "pages_rendered": len(images),
            "pages_read_by_ocr": sum(p.ocr_confidence is not None for p in info.pages),
            "reading": note or "complete",
            "extract_ms": int((time.monotonic() - started) * 1000),
        },
    )
