"""``media-analysis sheets``: vcsi-like contact sheets from the shell, no database or run.

The same frame extraction and sheet layout the pipeline uses; frames go to a temporary folder
and only the sheets are kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

# The bounds of the run config's frame_count and grid_cols/grid_rows (pipeline/request_config.py
# RequestConfig), so the shell cannot ask for what a run would refuse.
MAX_FRAMES = 200
MAX_GRID = 10


def make_sheets(
    video: Path,
    out_dir: Path,
    *,
    frames: int | None = None,
    grid: tuple[int, int] = (2, 3),
    accurate: bool = False,
) -> list[Path]:
    """Write contact sheets of ``video`` into ``out_dir``; returns their paths.

    Bounds are checked before the video is probed: 10,000 frames would fill the disk first.
    """
    from .media.contact_sheets import SheetHeader, build_contact_sheets
    from .media.errors import MediaLimitError, SourceError
    from .media.frames import extract_frames
    from .media.probe import probe_video

    if frames is not None and not 1 <= frames <= MAX_FRAMES:
        raise MediaLimitError(
            f"The number of frames must be between 1 and {MAX_FRAMES}, not {frames}."
        )
    if not all(1 <= n <= MAX_GRID for n in grid):
        cols, rows = grid
        raise MediaLimitError(
            f"The grid must have 1 to {MAX_GRID} columns and rows, not {cols}x{rows}."
        )
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
