"""Issue 9: a whole request on a hostile input under 50 MB peaks under 800 MB of memory.

Each input is one request of the main job executed in a fresh process (``demo.run_demo``: every
step, the offline providers and local speech-to-text included, in one process on the embedded
defaults), and that process's peak resident memory (VmHWM) is read when the request has ended.
The request must end ``completed`` or ``failed`` with a sentence, never crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import media_analysis_fixtures as sample
from media_analysis_fixtures.documents import write_raw_pdf
from media_analysis_fixtures.hostile_media import (
    make_growing_video,
    make_long_audio_video,
    x264_clip,
)

pytestmark = pytest.mark.integration

PEAK_MB = 800
_CHILD = """
import json, sys
from pathlib import Path
from media_analysis_dagster.demo import run_demo

out = run_demo(Path(sys.argv[1]))
request = out.get("request") or {}
status = Path("/proc/self/status").read_text().splitlines()
peak = next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))
print(json.dumps({"status": request.get("status"), "error": request.get("error_message"),
                  "peak_mb": peak}))
"""


INPUTS = {
    "tall_frames": lambda d: x264_clip(d / "tall.mp4", "16x4000"),
    "sample_aspect_1000": lambda d: x264_clip(d / "sar.mp4", "16x2000", "setsar=r=1000/1:max=1000"),
    "frames_growing_to_16_mpx": make_growing_video,
    "video_of_1s_with_1h_of_audio": lambda d: make_long_audio_video(d / "long.mp4", hours=1),
    "video_of_1s_with_7h_of_audio": lambda d: make_long_audio_video(d / "longer.mp4", hours=7),
    "pdf_of_50_giant_pages": lambda d: write_raw_pdf(d / "giant.pdf", [(200_000, 200_000)] * 50),
    "video_720p_60s_with_sound": lambda d: sample.make_video(
        d / "720p.mp4", duration=60, size=(1280, 720), fps=30
    ),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(INPUTS))
def test_request_peak_memory(tmp_path: Path, name: str) -> None:
    media = INPUTS[name](tmp_path)
    assert media.stat().st_size < 50 * 2**20
    env = {**os.environ, "MEDIA_ANALYSIS_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(media)],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\n{name}: {data}")
    assert data["status"] in {"completed", "failed"}, data
    if data["status"] == "failed":
        assert data["error"] and "Error" not in data["error"], data
    assert data["peak_mb"] < PEAK_MB, data
