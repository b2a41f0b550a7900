"""``extract_audio`` and ``extract_document``: the audio and document branches."""

import time
from pathlib import Path
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..resources import DatabaseResource, FileStorageResource
from .common import begin_file_step, file_row, materialize


@op(description="Decode the first audio track to 16 kHz mono WAV for analysis/transcription.")
def extract_audio(
    context: OpExecutionContext,
    request: dict[str, Any],
    audio: dict[str, Any],
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[dict[str, Any]]:
    from ..media.audio import extract_wav

    started = time.monotonic()
    request_id = request["request_id"]
    out = begin_file_step(context, database.store, files, request_id) / "audio_16k_mono.wav"
    info = extract_wav(audio["path"], out, sample_rate=16000)
    row = file_row(out, "audio", mime_type="audio/wav", duration_seconds=info.duration)
    database.store.replace_rows(request_id, file_types=["audio"], files=[row])
    materialize(context, "media_files", request_id, file_type="audio", path=str(out))
    data = {
        "kind": "audio",
        "request_id": request_id,
        "path": str(out),
        "wav": info.to_dict(),
        "source": audio.get("audio") or {},
    }
    return Output(
        data,
        metadata={
            "duration_s": round(info.duration, 3),
            "sample_rate": info.sample_rate,
            "decode_ms": int((time.monotonic() - started) * 1000),
            "path": MetadataValue.path(str(out)),
        },
    )


@op(description="Read a PDF, text file or image: metadata, text per page, images for vision.")
def extract_document(
    context: OpExecutionContext,
    request: dict[str, Any],
    document: dict[str, Any],
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[dict[str, Any]]:
    from ..media.documents import inspect_document

    started = time.monotonic()
    request_id = request["request_id"]
    out_dir = begin_file_step(context, database.store, files, request_id)
    info = inspect_document(document["path"], out_dir, mime_type=document["mime_type"])
    text_path = out_dir / "text.txt"
    text_path.write_text(info.text, encoding="utf-8")
    rows = [file_row(text_path, "document", mime_type="text/plain")]
    images = [p.image_path for p in info.pages if p.image_path]
    rows += [
        file_row(Path(p), "preview", sequence_order=i, width=info.width, height=info.height)
        for i, p in enumerate(images)
    ]
    database.store.replace_rows(request_id, file_types=["document", "preview"], files=rows)
    materialize(context, "media_files", request_id, file_type="document", rows=len(rows))
    data = {
        "kind": "document",
        "request_id": request_id,
        "info": info.to_dict(),
        "text_path": str(text_path),
        "page_images": [str(p) for p in images],
    }
    return Output(
        data,
        metadata={
            "kind": info.kind,
            "pages": info.page_count,
            "characters": info.char_count,
            "pages_rendered": len(images),
            "extract_ms": int((time.monotonic() - started) * 1000),
        },
    )
