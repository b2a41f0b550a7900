"""``extract_frames`` and ``build_contact_sheets``: the video branch."""

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..contracts import (
    ArtifactRef,
    ContactSheets,
    FetchedMedia,
    RequestSpec,
    SheetRef,
    VideoFrames,
)
from ..media.scenes import SceneMotionResult
from ..pipeline.progress import WORK_TEMPLATES, step_progress
from ..pipeline.rows import frame_rows, sheet_rows
from ..pipeline.steps import begin_file_step, readable_failures, write_step_files
from ..pipeline.views import sheets_markdown
from ..resources import DatabaseResource, FileStorageResource, ProvidersResource


def _extract(
    context: OpExecutionContext,
    request: RequestSpec,
    video: FetchedMedia,
    out_dir: Path,
    files: FileStorageResource,
    providers: ProvidersResource,
) -> tuple[list[Any], tuple[ArtifactRef, ...], SceneMotionResult | None]:
    """Scenes (``scene_aware``), frames and their stored copies, with progress lines for each
    phase: seconds of video decoded for scenes, frames written, files stored."""
    from ..media.frames import extract_frames as extract

    local = files.local_copy(video.original)
    scenes = None
    with step_progress(context) as report:
        if request.scene_aware:  # detected once: the scene_detection analysis reuses them
            from ..media.scenes import detect_scenes_and_motion

            scenes = detect_scenes_and_motion(
                local,
                threshold=providers.scene_threshold,
                on_progress=report.counting(WORK_TEMPLATES["scene_detection"]),
            )
        frames = extract(
            local,
            out_dir,
            count=request.frame_count,
            accurate=request.accurate_frames,
            info=video.video,
            scenes=list(scenes.cut_times) if scenes else None,
            on_progress=report.counting("extracted {done} of {total} frames"),
        )
        refs = report.store_each(
            [f.path for f in frames],
            lambda path: files.stored(path, mime_type="image/jpeg"),
            remote=files.remote,
        )
    return frames, tuple(refs), scenes


@op(
    description="Seek to evenly spaced times (or one per scene with scene_aware) and write one "
    "JPEG per frame: near each time a readable one (not dark, flat or blurred when a better "
    "frame is in reach), never a full decode."
)
@readable_failures
def extract_frames(
    context: OpExecutionContext,
    request: RequestSpec,
    video: FetchedMedia,
    database: DatabaseResource,
    files: FileStorageResource,
    providers: ProvidersResource,
) -> Output[VideoFrames]:
    started, rid = time.monotonic(), request.request_id
    assert video.video is not None, "fetch_media routes only probed videos here"
    out_dir = begin_file_step(context, database.store, files, rid)
    frames, refs, scenes = _extract(context, request, video, out_dir, files, providers)
    write_step_files(context, database.store, rid, frame_rows(frames, refs))
    value = VideoFrames(
        rid, video.video, video.file_name, tuple(frames), refs, request.accurate_frames, scenes
    )
    return Output(
        value,
        metadata={
            "frames": len(frames),
            "keyframes_used": sum(f.keyframe for f in frames),
            "extract_ms": int((time.monotonic() - started) * 1000),
            "timestamps": MetadataValue.json([round(f.pts_time, 3) for f in frames]),
            "scene_starts": MetadataValue.json(list(scenes.cut_times) if scenes else []),
            "chosen_because": MetadataValue.json(
                [f.selection.reason if f.selection else "nearest" for f in frames]
            ),
            "directory": MetadataValue.path(str(out_dir)),
        },
    )


def _layout(
    request: RequestSpec, frames: VideoFrames, files: FileStorageResource, out_dir: Path
) -> list[Any]:
    """Lay the frames (their local copies) out on sheets in ``out_dir``."""
    from ..media.contact_sheets import SheetHeader, build_contact_sheets

    info = frames.video
    header = SheetHeader(
        frames.file_name, info.duration, info.display_width, info.display_height, info.video_codec
    )
    local = [
        replace(f, path=files.local_copy(ref))
        for f, ref in zip(frames.frames, frames.artifacts, strict=True)
    ]
    return build_contact_sheets(
        local,
        out_dir,
        header=header,
        cols=request.grid_cols,
        rows=request.grid_rows,
        interval=info.duration / len(local) if local else None,
    )


@op(description="Lay the frames out on Pillow contact sheets with timestamps and a header.")
@readable_failures
def build_contact_sheets(
    context: OpExecutionContext,
    request: RequestSpec,
    frames: VideoFrames,
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[ContactSheets]:
    started, rid = time.monotonic(), request.request_id
    out_dir = begin_file_step(context, database.store, files, rid)
    with step_progress(context) as report:
        report.busy("laying out the contact sheets")
        made = _layout(request, frames, files, out_dir)
        refs = report.store_each(
            [s.path for s in made],
            lambda path: files.stored(path, mime_type="image/jpeg"),
            remote=files.remote,
        )
    file_rows, rows = sheet_rows(made, refs)
    write_step_files(context, database.store, rid, file_rows, sheets=rows)
    refs_by_sheet = zip(refs, made, strict=True)
    sheets = tuple(SheetRef(r, s.sheet_number, tuple(s.frame_indexes)) for r, s in refs_by_sheet)
    value = ContactSheets(rid, frames, sheets)
    return Output(
        value,
        metadata={
            "preview": MetadataValue.md(sheets_markdown(value)),
            "sheets": len(made),
            "grid": f"{request.grid_cols}x{request.grid_rows}",
            "build_ms": int((time.monotonic() - started) * 1000),
        },
    )
