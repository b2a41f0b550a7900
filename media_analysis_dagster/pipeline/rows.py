"""Media results → table rows: the one place that knows which fields of a step's values go into
which columns of ``media_files``, ``contact_sheets`` and ``media_analysis_results``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..contracts import ArtifactRef
from ..db.rows import NewFile, NewResult, NewSheet
from ..db.segments import NewSegment, page_segments
from ..media.contact_sheets import ContactSheet
from ..media.document_info import DocumentInfo
from ..media.frames import ExtractedFrame
from ..providers.base import ProviderResult


def file_row(ref: ArtifactRef, file_type: str, **fields: Any) -> NewFile:
    """A ``media_files`` row for a stored artifact (size, checksum and place from the ref)."""
    return NewFile(
        file_type=file_type,
        file_path=ref.key,
        file_name=ref.name[:255],
        file_size_bytes=ref.size_bytes,
        mime_type=ref.mime_type,
        checksum=ref.sha256,
        storage_location=ref.location,
        remote_url=ref.remote_url,
        **fields,
    )


def frame_rows(frames: Sequence[ExtractedFrame], refs: Sequence[ArtifactRef]) -> list[NewFile]:
    return [
        file_row(
            ref,
            "frame",
            width=f.width,
            height=f.height,
            frame_number=f.frame_number,
            sequence_order=f.index,
        )
        for f, ref in zip(frames, refs, strict=True)
    ]


def sheet_rows(
    sheets: Sequence[ContactSheet], refs: Sequence[ArtifactRef]
) -> tuple[list[NewFile], list[NewSheet]]:
    """The sheets' ``media_files`` rows and their ``contact_sheets`` rows (linked by index)."""
    files = [
        file_row(
            ref,
            "contact_sheet",
            width=s.image_width,
            height=s.image_height,
            sequence_order=s.sheet_number,
        )
        for s, ref in zip(sheets, refs, strict=True)
    ]
    rows = [
        NewSheet(
            frame_count=s.frame_count,
            frames_per_sheet=s.frames_per_sheet,
            grid_cols=s.grid_cols,
            grid_rows=s.grid_rows,
            file_index=i,
            sheet_number=s.sheet_number,
            total_sheets=s.total_sheets,
            frame_interval_seconds=s.frame_interval_seconds,
            image_width=s.image_width,
            image_height=s.image_height,
            thumbnail_width=s.thumbnail_width,
            thumbnail_height=s.thumbnail_height,
            generation_method=s.generation_method,
        )
        for i, s in enumerate(sheets)
    ]
    return files, rows


def result_row(r: ProviderResult, task_key: str) -> NewResult:
    """A ``media_analysis_results`` row; ``metadata.task`` is what a re-executed step replaces."""
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


def document_segments(info: DocumentInfo) -> list[NewSegment]:
    """The searchable pages of a document, tied to its text file (the step's first file row):
    a re-executed or failed step replaces or removes them with that row."""
    return page_segments([(p.number, p.text) for p in info.pages if p.text.strip()], file_index=0)
