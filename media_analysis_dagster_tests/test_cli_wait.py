"""``media-analysis submit --wait`` on real runs: a real CLI process waits while this test does
what the daemon would (one tick of the pending-requests sensor, then the run it asks for, on the
same Dagster instance). The CLI prints the status changes and the run's progress lines, ends with
the outcome, and exits 0 only for a completed request; ``report ID`` then writes the HTML page.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test

from media_analysis_dagster.cli_wait import PENDING_HINT_S, Waiter
from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.jobs import media_analysis_job
from media_analysis_dagster.pipeline.progress import progress_lines
from media_analysis_dagster.tags import RUN_KEY_TAG
from media_analysis_fixtures import make_video, run_ffmpeg
from media_analysis_fixtures import speech as sf
from media_analysis_fixtures.resources import resources_from_env

from .sensor_helpers import run_requests, sensor_named, tick
from .test_cli import run_main

VIDEO_S = 60.0
"""Long enough that transcription and scene detection run past the first progress line."""


class CliProcess:
    """``media-analysis`` as a real process, its stdout lines collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        exe = shutil.which("media-analysis", path=str(Path(sys.executable).parent))
        cmd = [exe] if exe else [sys.executable, "-m", "media_analysis_dagster.cli"]
        self.popen = subprocess.Popen(
            [*cmd, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = 60) -> str:
        line = self.lines.get(timeout=timeout)
        self.seen.append(line)
        return line

    def finish(self, timeout: float = 180) -> tuple[int, list[str], str]:
        code = self.popen.wait(timeout=timeout)
        err = self.popen.stderr.read() if self.popen.stderr else ""
        while True:
            try:
                self.seen.append(self.lines.get(timeout=2))
            except queue.Empty:
                break
        return code, self.seen, err


@pytest.fixture
def home(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A Dagster home on SQLite shared by the CLI process and this test, the tables, the inbox."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    (tmp_path / "data" / "inbox").mkdir(parents=True)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home


def run_pending_row(instance: DagsterInstance, db_url: str) -> str:
    """What the daemon does: one sensor tick, then the run it requested (in this process)."""
    [request] = run_requests(tick(sensor_named("pending_requests_sensor"), instance, db_url))
    result = media_analysis_job.execute_in_process(
        instance=instance,
        run_config=request.run_config,
        tags={**request.tags, RUN_KEY_TAG: request.run_key or ""},
        resources=resources_from_env(),
        raise_on_error=False,
    )
    return result.run_id


def speech_video(path: Path, seconds: float) -> Path:
    sf.require_espeak()
    wav, _ = sf.make_long_wav(path.with_suffix(".wav"), sf.SENTENCES, seconds / 60)
    picture = make_video(path.with_name("picture.mp4"), duration=seconds, audio=False)
    mux = ["-i", str(picture), "-i", str(wav), "-map", "0:v", "-map", "1:a", "-c:v", "copy"]
    run_ffmpeg([*mux, "-c:a", "aac", "-b:a", "64k", "-t", f"{seconds}", str(path)])
    return path


def test_wait_prints_progress_and_the_end_then_report_writes_html(
    home: Path,
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    video = speech_video(tmp_path / "data" / "inbox" / "talk.mp4", VIDEO_S)
    # The instance's SQLite storage exists before the CLI opens it (two processes creating it
    # at once race, as a daemon and a webserver would on a fresh home).
    with DagsterInstance.from_config(str(home)) as instance:
        cli = CliProcess(
            ["submit", "--media-path", str(video), "--prompt", "What is said?", "--wait"],
            dict(os.environ),
        )
        request_id = cli.next_line()
        run_id = run_pending_row(instance, sqlite_url)
        code, lines, err = cli.finish()
        logged = [text for _, text in progress_lines(instance, run_id)]
    assert code == 0, (lines, err)
    assert lines[0] == request_id and f"run {run_id}" in lines
    # each status change once, in lifecycle order (the first poll may already see processing)
    statuses = [line for line in lines if line in ("pending", "processing")]
    assert statuses in (["pending", "processing"], ["processing"], ["pending"]), lines
    printed = [line.strip() for line in lines if line.startswith("  ")]
    assert logged, "the run logged no progress line: nothing to follow"
    assert printed == logged  # every line the steps logged, in order, once
    assert any("transcribed" in line or "decoded" in line for line in printed), printed
    assert lines[-1].startswith("completed in ")
    assert err == ""

    code, out, err = run_main(capsys, "report", request_id, "--out", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert out.strip() == str(tmp_path / "r.html")
    assert page.lstrip().lower().startswith("<!doctype html") and "talk.mp4" in page
    code, out, _ = run_main(capsys, "status", request_id)
    assert "status     completed" in out and "talk.mp4" in out


def test_wait_ends_with_the_failure_and_exit_1_without_an_instance(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DAGSTER_HOME: status changes only, and the failure's sentence as the last line."""
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    inbox = tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 400)
    cli = CliProcess(
        ["submit", "--media-path", str(inbox / "broken.mp4"), "--wait"], dict(os.environ)
    )
    request_id = cli.next_line()
    with instance_for_test() as instance:
        run_pending_row(instance, sqlite_url)
    code, lines, err = cli.finish()
    assert code == 1, (lines, err)
    assert lines[0] == request_id
    assert any(line.startswith("DAGSTER_HOME is not set") for line in lines)
    assert lines[-1].startswith("failed: ") and "Traceback" not in "\n".join(lines)
    engine = build_engine(sqlite_url)
    try:
        row = Store(engine).get_request(request_id, with_children=False)
    finally:
        engine.dispose()
    assert row is not None and lines[-1] == f"failed: {row['error_message']}"


def test_wait_gives_up_at_the_timeout_and_explains_a_pending_row(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    code, out, err = run_main(
        capsys, "submit", "--media-url", "https://example.com/v.mp4", "--wait", "--timeout", "1.5"
    )
    lines = out.splitlines()
    assert code == 1 and err == ""
    assert lines[1:3] == [
        "DAGSTER_HOME is not set: printing status changes only, no progress lines",
        "pending",
    ]
    assert (
        lines[-1]
        == f"stopped waiting after 1.5 s; the request goes on: media-analysis status {lines[0]}"
    )

    # After PENDING_HINT_S still pending: one line on what starts pending rows (a clock that
    # jumps 10 s per poll instead of a test that sleeps for half a minute).
    engine = build_engine(sqlite_url)
    said: list[str] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 10.0

    try:
        waiter = Waiter(Store(engine), lines[0], said.append, clock=lambda: now[0], sleep=sleep)
        assert waiter.wait(timeout_s=PENDING_HINT_S + 25) == "timeout"
    finally:
        engine.dispose()
    hints = [line for line in said if line.startswith("still pending after")]
    assert len(hints) == 1 and "pending_requests_sensor" in hints[0] and "make dev" in hints[0]
