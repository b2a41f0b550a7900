"""Test and benchmark support (not product code, not in the wheel): media and documents made at
test time, real servers and processes on 127.0.0.1, throwaway PostgreSQL databases.

Tests import it through pytest's rootdir and the benchmarks through ``python -m benchmarks.…``
from the repository root (``docs/architecture.md``, "Where code lives"). One module per kind
of thing:

- media: `ffmpeg` (the bundled binary), `video`, `counter_video`, `audio`, `documents`,
  `hostile_media`, `speech` (espeak-ng), `real_media` (files made by others), `peak_memory`,
  `text_images` (pages, scans and captioned frames with known text, for OCR);
- servers: `media_server` (HTTP media), `object_servers` (S3, GCS), `gcs_standin` (Google
  refusing credentials), `fake_providers` (the providers' wire formats);
- the three Dagster processes: `processes` (start, stop, wait), `stack`, `graphql`, `tables`;
- `pg` (PostgreSQL) and `resources` (the code location's resources from the environment).

The video makers most tests use are importable from the package itself.
"""

from .audio import make_audio
from .counter_video import COUNTER_GRID, make_counter_video, read_counter
from .ffmpeg import ffmpeg_exe, run_ffmpeg
from .video import DEFAULT_SEGMENTS, cut_times, make_long_video, make_video

__all__ = [
    "COUNTER_GRID",
    "DEFAULT_SEGMENTS",
    "cut_times",
    "ffmpeg_exe",
    "make_audio",
    "make_counter_video",
    "make_long_video",
    "make_video",
    "read_counter",
    "run_ffmpeg",
]
