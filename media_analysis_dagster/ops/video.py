"""``extract_frames`` and ``build_contact_sheets``: the video branch."""

import time
from pathlib import Path
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Output, op

from ..db.rows import NewSheet
from ..resources import DatabaseResource, FileStorageResource
from .common import begin_file_step, file_row, materialize


@op(description="Seek to evenly spaced times and write one JPEG per frame (never a full decode).")
def extract_frames(
    context: OpExecutionContext,
    request: dict[str, Any],
    video: dict[str, Any],
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[dict[str, Any]]:
    from ..media.frames import extract_frames as extract
    from ..media.probe import VideoInfo

    started = time.monotonic()
    request_id = request["request_id"]
    out_dir = begin_file_step(context, database.store, files, request_id)
    info = VideoInfo(**video["video"])
    frames = extract(
        video["path"],
        out_dir,
        count=request.get("frame_count"),
        accurate=bool(request.get("accurate_frames")),
        info=info,
    )
    rows = [
        file_row(
            f.path,
            "frame",
            mime_type="image/jpeg",
            width=f.width,
            height=f.height,
            frame_number=f.frame_number,
            sequence_order=f.index,
        )
        for f in frames
    ]
    database.store.replace_rows(request_id, file_types=["frame"], files=rows)
    materialize(context, "media_files", request_id, file_type="frame", rows=len(rows))
    elapsed = int((time.monotonic() - started) * 1000)
    data = {
        "request_id": request_id,
        "video": video,
        "accurate": bool(request.get("accurate_frames")),
        "frames": [
            {
                "index": f.index,
                "target_time": f.target_time,
                "pts_time": f.pts_time,
                "frame_number": f.frame_number,
                "keyframe": f.keyframe,
                "path": str(f.path),
                "width": f.width,
                "height": f.height,
            }
            for f in frames
        ],
    }
    return Output(
        data,
        metadata={
            "frames": len(frames),
            "keyframes_used": sum(f.keyframe for f in frames),
            "extract_ms": elapsed,
            "timestamps": MetadataValue.json([round(f.pts_time, 3) for f in frames]),
            "directory": MetadataValue.path(str(out_dir)),
        },
    )


@op(description="Lay the frames out on Pillow contact sheets with timestamps and a header.")
def build_contact_sheets(
    context: OpExecutionContext,
    request: dict[str, Any],
    frames: dict[str, Any],
    database: DatabaseResource,
    files: FileStorageResource,
) -> Output[dict[str, Any]]:
    from ..media.contact_sheets import SheetHeader, thumbnail_data_url
    from ..media.contact_sheets import build_contact_sheets as build
    from ..media.frames import ExtractedFrame

    started = time.monotonic()
    request_id = request["request_id"]
    out_dir = begin_file_step(context, database.store, files, request_id)
    info = frames["video"]["video"]
    extracted = [ExtractedFrame(**{**f, "path": Path(f["path"])}) for f in frames["frames"]]
    header = SheetHeader(
        file_name=frames["video"]["file_name"],
        duration=info["duration"],
        width=info["display_width"],
        height=info["display_height"],
        codec=info["video_codec"],
    )
    interval = info["duration"] / len(extracted) if extracted else None
    sheets = build(
        extracted,
        out_dir,
        header=header,
        cols=request["grid_cols"],
        rows=request["grid_rows"],
        interval=interval,
    )
    file_rows = [
        file_row(
            s.path,
            "contact_sheet",
            mime_type="image/jpeg",
            width=s.image_width,
            height=s.image_height,
            sequence_order=s.sheet_number,
        )
        for s in sheets
    ]
    sheet_rows = [
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
    ids = database.store.replace_rows(
        request_id,
        file_types=["contact_sheet"],
        replace_sheets=True,
        files=file_rows,
        sheets=sheet_rows,
    )
    materialize(context, "media_files", request_id, file_type="contact_sheet", rows=len(sheets))
    materialize(
        context,
        "contact_sheets",
        request_id,
        rows=len(sheets),
        contact_sheet_ids=MetadataValue.json(ids["contact_sheets"]),
    )
    previews = "\n\n".join(
        f"**Sheet {s.sheet_number}/{s.total_sheets}** `{s.path}`\n\n"
        f"![sheet {s.sheet_number}]({thumbnail_data_url(s.path)})"
        for s in sheets
    )
    data = {
        "kind": "sheets",
        "request_id": request_id,
        "video": frames["video"],
        "frames": frames["frames"],
        "sheets": [
            {
                "path": str(s.path),
                "sheet_number": s.sheet_number,
                "frame_indexes": list(s.frame_indexes),
            }
            for s in sheets
        ],
    }
    return Output(
        data,
        metadata={
            "sheets": len(sheets),
            "grid": f"{request['grid_cols']}x{request['grid_rows']}",
            "build_ms": int((time.monotonic() - started) * 1000),
            "preview": MetadataValue.md(previews),
        },
    )
