"""Progress lines (``pipeline/progress.py``): what they say, when they come, and that they stop.

The heartbeat is tested with a fake slow job whose position the test moves, at short intervals;
then inside a real Dagster op executed in process, whose event log must hold the lines at most
10 s apart (once with short intervals, once with the defaults over a ~25 s job), and which
`progress_lines` reads back as the CLI does.
"""

import itertools
import threading
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, OpExecutionContext, instance_for_test, job, op

from media_analysis_dagster.pipeline.progress import (
    EVERY_S,
    FIRST_LINE_S,
    PREFIX,
    ProviderCalls,
    Report,
    heartbeat,
    progress_lines,
    step_progress,
)

PROMISED_GAP_S = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Lines:
    """A ``say`` that records (monotonic time, line) from whichever thread calls it."""

    def __init__(self) -> None:
        self.got: list[tuple[float, str]] = []
        self.threads: set[str] = set()

    def __call__(self, line: str) -> None:
        self.got.append((time.monotonic(), line))
        self.threads.add(threading.current_thread().name)

    @property
    def texts(self) -> list[str]:
        return [text for _, text in self.got]


def heartbeats_alive() -> int:
    return sum(t.name == "progress-heartbeat" and t.is_alive() for t in threading.enumerate())


# -- what a line says ---------------------------------------------------------------------------
def test_counted_line_says_done_total_share_and_time() -> None:
    clock = Clock()
    report = Report(clock)
    transcribed = report.counting("transcribed {done} of {total} s")
    assert report.line() == "transcribed 0 of ? s (0 s so far)"
    transcribed(120.4, 285.0)
    clock.now += 38
    assert report.line() == "transcribed 120 of 285 s (42 %, 38 s so far)"
    transcribed(290.0, 285.0)  # never more done than there is
    assert report.line() == "transcribed 285 of 285 s (100 %, 38 s so far)"
    transcribed(284.2, 284.6)  # the total rounded, what is done rounded down
    assert report.line() == "transcribed 284 of 285 s (99 %, 38 s so far)"
    transcribed(284.6, 284.6)
    assert report.line() == "transcribed 285 of 285 s (100 %, 38 s so far)"
    frames = report.counting("extracted {done} of {total} frames", total=18)
    assert report.line() == "extracted 0 of 18 frames (0 %, 0 s so far)"
    frames(7, 18)
    assert report.phase is frames and report.line().startswith("extracted 7 of 18 frames (38 %")


def test_uploads_count_files_and_megabytes(tmp_path: Path) -> None:
    clock = Clock()
    report = Report(clock)
    paths = []
    for i, size in enumerate((3_000_000, 5_000_000, 4_000_000)):
        paths.append(tmp_path / f"f{i}.bin")
        paths[-1].write_bytes(b"\0" * size)
    seen: list[str | None] = []

    def stored(path: Path) -> str:
        clock.now += 2
        seen.append(report.line())
        return path.name

    assert report.store_each(paths, stored, remote=True) == ["f0.bin", "f1.bin", "f2.bin"]
    assert seen[0] == "uploaded 0 of 3 files (0.0 of 12 MB), 2 s so far"
    assert seen[2] == "uploaded 2 of 3 files (8.0 of 12 MB), 6 s so far"
    assert report.line() == "uploaded 3 of 3 files (12 of 12 MB), 6 s so far"
    report.store_each(paths[:1], lambda p: p, remote=False)
    assert report.line() == "stored 1 of 1 files (3.0 of 3.0 MB), 0 s so far"


def test_provider_calls_say_who_is_awaited_and_which_attempt() -> None:
    clock = Clock()
    report = Report(clock)
    calls = report.calls("vision_analysis")
    assert report.line() == "vision_analysis: starting (0 s so far)"
    calls.calling("openai", 1, 4)
    clock.now += 20
    assert report.line() == "openai vision_analysis: waiting for the answer, 20 s"
    calls.calling("openai", 2, 4, 3.0, "openai answered 429 (rate limited)\n" + "x " * 200)
    clock.now += 1
    line = report.line()
    assert line is not None and line.startswith(
        "openai vision_analysis: retrying in 2 s (attempt 2 of 4) after openai answered 429"
    )
    assert "\n" not in line and line.endswith("…") and len(line) < 260
    clock.now += 32
    assert report.line() == "openai vision_analysis: waiting for the answer (attempt 2 of 4), 30 s"
    transcription = ProviderCalls("transcription", clock)
    transcription.started = clock.now
    transcription.calling("internal", 1, 4)
    clock.now += 6  # offline work that has not reported yet (a model loading) is not awaited
    assert transcription.line(clock.now) == "internal transcription: working, 6 s so far"
    transcription.working(120, 285)
    clock.now += 4
    assert transcription.line(clock.now) == (
        "internal transcription: transcribed 120 of 285 s (42 %, 10 s so far)"
    )


def test_file_growth_reads_the_part_file(tmp_path: Path) -> None:
    clock = Clock()
    report = Report(clock)
    dest = tmp_path / "clip.mp4"
    report.file_growth("fetched", dest, 2 * 1024**3)
    assert report.line() == "fetched 0.0 MB (limit 2147 MB), 0 s so far"
    (tmp_path / "clip.mp4.part").write_bytes(b"\0" * 1_500_000)
    (tmp_path / "other.mp4").write_bytes(b"\0" * 9_000_000)  # not ours
    clock.now += 7
    assert report.line() == "fetched 1.5 MB (limit 2147 MB), 7 s so far"


# -- the heartbeat ------------------------------------------------------------------------------
def test_heartbeat_logs_the_latest_position_on_schedule_and_stops() -> None:
    """A fake slow job moves its position; the heartbeat (its own thread) logs the latest one:
    the first line after first_s, then one every every_s, none after the block."""
    lines, first_s, every_s = Lines(), 0.3, 0.4
    started = time.monotonic()
    with heartbeat(lines, first_s=first_s, every_s=every_s) as report:
        frames = report.counting("extracted {done} of {total} frames")
        for i in range(12):
            frames(i, 12)  # called per frame: it only stores the position
            time.sleep(0.2)
    ended = time.monotonic()
    time.sleep(3 * every_s)
    assert heartbeats_alive() == 0
    assert lines.threads == {"progress-heartbeat"}
    times = [t for t, _ in lines.got]
    assert all(t <= ended + 0.05 for t in times), "a line came after the work ended"
    assert first_s - 0.05 <= times[0] - started <= first_s + 0.5
    gaps = [b - a for a, b in zip([started, *times], [*times, ended], strict=True)]
    assert max(gaps[1:]) <= every_s + 0.5, gaps
    assert min(gaps[1:-1]) >= every_s * 0.5, gaps
    assert all(text.startswith(PREFIX + "extracted ") for text in lines.texts)
    done = [int(text.split()[2]) for text in lines.texts]
    assert done == sorted(done) and done[-1] >= 8, lines.texts  # the latest, growing


def test_heartbeat_stops_when_the_work_fails() -> None:
    lines = Lines()
    with (
        pytest.raises(RuntimeError, match="decoder broke"),
        heartbeat(lines, first_s=0.1, every_s=0.2) as report,
    ):
        report.busy("scene detection")
        time.sleep(0.5)
        raise RuntimeError("decoder broke")
    count = len(lines.got)
    time.sleep(0.6)
    assert count >= 1 and len(lines.got) == count
    assert heartbeats_alive() == 0
    assert lines.texts[0] == PREFIX + "scene detection: working, 0 s so far"


def test_short_work_logs_nothing_and_a_failing_log_never_fails_the_work() -> None:
    lines = Lines()
    with heartbeat(lines, first_s=1.0, every_s=1.0) as report:
        report.counting("read {done} of {total} pages")(3, 4)
    assert lines.got == [] and heartbeats_alive() == 0

    def broken(_line: str) -> None:
        raise OSError("event log unreachable")

    with heartbeat(broken, first_s=0.05, every_s=0.1) as report:
        report.busy("reading the document")
        time.sleep(0.4)  # several failed lines; the work carries on
    assert heartbeats_alive() == 0


def test_no_line_before_the_work_has_a_phase() -> None:
    lines = Lines()
    with heartbeat(lines, first_s=0.05, every_s=0.1):
        time.sleep(0.3)
    assert lines.got == []


# -- inside a real Dagster op -------------------------------------------------------------------
def _slow_job(seconds: float, *, first_s: float | None, every_s: float | None):
    """A job of one op that works ``seconds`` while reporting a position through a callback."""

    @op
    def slow_step(context: OpExecutionContext) -> int:
        timing = {} if first_s is None else {"first_s": first_s, "every_s": every_s or EVERY_S}
        with step_progress(context, **timing) as report:
            transcribed = report.counting("transcribed {done} of {total} s")
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < seconds:
                transcribed(elapsed * 10, seconds * 10)
                time.sleep(0.05)
        return 1

    @job
    def slow_job() -> None:
        slow_step()

    return slow_job


def _step_window(instance: DagsterInstance, run_id: str) -> tuple[float, float]:
    records = instance.get_records_for_run(run_id).records
    start = next(r for r in records if r.event_log_entry.dagster_event_type == "STEP_START")
    end = next(r for r in records if r.event_log_entry.dagster_event_type == "STEP_SUCCESS")
    return start.event_log_entry.timestamp, end.event_log_entry.timestamp


def _line_times(instance: DagsterInstance, run_id: str) -> list[float]:
    return [
        r.event_log_entry.timestamp
        for r in instance.get_records_for_run(run_id).records
        if r.event_log_entry.user_message.startswith(PREFIX)
    ]


def test_lines_reach_the_event_log_of_a_real_op_and_progress_lines_reads_them() -> None:
    """``context.log`` from the heartbeat thread lands in the run's event log, on the step,
    and `progress_lines` reads back what is new after a storage id."""
    with instance_for_test() as instance:
        result = _slow_job(3.0, first_s=0.5, every_s=0.5).execute_in_process(instance=instance)
        assert result.success
        lines = progress_lines(instance, result.run_id)
        assert len(lines) >= 4, lines
        ids = [storage_id for storage_id, _ in lines]
        assert ids == sorted(ids)
        assert all(text.startswith("slow_step: transcribed ") for _, text in lines), lines
        newer = progress_lines(instance, result.run_id, ids[1])
        assert newer == lines[2:]
        assert progress_lines(instance, result.run_id, ids[-1]) == []
        assert progress_lines(instance, result.run_id, 0, page=2) == lines  # paged back
        start, end = _step_window(instance, result.run_id)
        times = [start, *_line_times(instance, result.run_id), end]
        assert max(b - a for a, b in itertools.pairwise(times)) <= 1.5
        assert heartbeats_alive() == 0


@pytest.mark.timeout(120)
def test_default_timing_keeps_gaps_under_ten_seconds() -> None:
    """The defaults over a ~25 s step: the first line within a few seconds, then no gap in the
    event log over 10 s, and no two lines closer than ~2 s."""
    with instance_for_test() as instance:
        result = _slow_job(25.0, first_s=None, every_s=None).execute_in_process(instance=instance)
        assert result.success
        start, end = _step_window(instance, result.run_id)
        lines = _line_times(instance, result.run_id)
        assert len(lines) >= 4, lines
        assert lines[0] - start <= FIRST_LINE_S + 2.0
        times = [start, *lines, end]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= PROMISED_GAP_S, gaps
        assert min(gaps[1:-1]) >= 2.0, gaps
        texts = [text for _, text in progress_lines(instance, result.run_id)]
        numbers = [int(text.split()[2]) for text in texts]
        assert numbers == sorted(numbers) and numbers[-1] >= 150, texts
