"""``media-analysis sheets``: vcsi-like contact sheets from the shell, no database or run.

The same frame extraction and sheet layout the pipeline uses; frames go to a temporary folder
and only the sheets are kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path


def make_sheets(
    video: Path,
    out_dir: Path,
    *,
    frames: int | None = None,
    grid: tuple[int, int] = (2, 3),
    accurate: bool = False,
) -> list[Path]:
    """Write contact sheets of ``video`` into ``out_dir``; returns their paths."""
    from .media.contact_sheets import SheetHeader, build_contact_sheets
    from .media.errors import SourceError
    from .media.frames import extract_frames
    from .media.probe import probe_video

    if not video.is_file():
        raise SourceError(f"The video {video} does not exist.")
    info = probe_video(video)
    cols, rows = grid
    with tempfile.TemporaryDirectory(prefix="ma-frames-") as tmp:
        extracted = extract_frames(video, tmp, count=frames, accurate=accurate, info=info)
        header = SheetHeader(
            file_name=video.name,
            duration=info.duration,
            width=info.display_width,
            height=info.display_height,
            codec=info.video_codec,
        )
        sheets = build_contact_sheets(
            extracted,
            out_dir,
            header=header,
            cols=cols,
            rows=rows,
            interval=info.duration / len(extracted) if extracted else None,
        )
    return [s.path for s in sheets]
