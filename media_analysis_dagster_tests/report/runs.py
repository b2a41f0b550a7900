"""Requests made by real runs of ``media_analysis_job`` for the report tests (no pytest here).

A video with speech is made from generated parts: ``make_video`` segments with hard cuts at
known times, and two sentences spoken by espeak-ng (``media_analysis_fixtures.speech``) muxed in
as AAC. The offline provider transcribes it with the bundled faster-whisper model, so the
report has sheets, scenes and a timed transcript without any key.

Scene pictures are stored the way ``media/scene_strip.py`` documents: one ``thumbnail`` file
per scene, ``sequence_order`` = the scene's index from 0. ``add_scene_thumbnails`` writes them
for a finished request when its run did not (the ops may be wired to do it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from media_analysis_dagster.db.rows import NewFile
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.media.scene_strip import scene_thumbnails
from media_analysis_fixtures import make_video, run_ffmpeg
from media_analysis_fixtures.speech import espeak_samples, silence, write_wav

SPOKEN = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back before five o'clock this afternoon.",
)
VIDEO_SECONDS = 9.0
SEGMENTS = ("testsrc2", "color=c=red", "smptebars")
CUTS = (3.0, 6.0)


def make_speech_video(path: Path) -> Path:
    """A 9 s 320x240 video, hard cuts at 3 s and 6 s, the two sentences spoken from 0.5 s."""
    silent = make_video(
        path.with_name("silent.mp4"),
        duration=VIDEO_SECONDS,
        size=(320, 240),
        segments=SEGMENTS,
        audio=False,
    )
    pieces = [silence(0.5)]
    for sentence in SPOKEN:
        pieces += [espeak_samples(sentence), silence(0.6)]
    wav = write_wav(path.with_name("speech.wav"), pieces)
    run_ffmpeg(
        [
            *("-i", str(silent), "-i", str(wav), "-map", "0:v", "-map", "1:a"),
            *("-c:v", "copy", "-c:a", "aac", "-b:a", "64k", "-t", str(VIDEO_SECONDS), str(path)),
        ]
    )
    return path


def local_read(file_row: dict[str, Any]) -> bytes:
    """``read`` for local storage: ``media_files.file_path`` is the file's path."""
    return Path(file_row["file_path"]).read_bytes()


def scene_starts(row: dict[str, Any]) -> list[float]:
    data = next(r["content_json"] for r in row["results"] if r["result_type"] == "scene_detection")
    return [0.0, *data["cut_times"]]


def add_scene_thumbnails(store: Store, row: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Store one ``thumbnail`` file per scene of a finished video request (unless its run did)
    and return the row read again."""
    if any(f["file_type"] == "thumbnail" for f in row["files"]):
        return row
    original = next(f for f in row["files"] if f["file_type"] == "original")
    thumbs = scene_thumbnails(original["file_path"], scene_starts(row), out_dir)
    files = [
        NewFile(
            file_type="thumbnail",
            file_path=str(t.path),
            file_name=t.path.name,
            file_size_bytes=t.path.stat().st_size,
            mime_type="image/jpeg",
            width=t.width,
            height=t.height,
            sequence_order=t.index,
            checksum=hashlib.sha256(t.path.read_bytes()).hexdigest(),
        )
        for t in thumbs
    ]
    store.replace_rows(row["request_id"], file_types=["thumbnail"], files=files)
    again = store.get_request(row["request_id"])
    assert again is not None
    return again
