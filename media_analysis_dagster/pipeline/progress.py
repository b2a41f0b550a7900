"""Progress lines: how far a long step is, in the run's event log every few seconds.

Why: a step that decodes a long video, transcribes it or waits for a provider used to be silent
for minutes, and a silent step looks like a hung one. Here the work reports its position
through a callback (``on_progress(done, total)``, in the work's own unit: seconds of audio,
frames, pages, files), which only stores it, so it can be called per frame or per segment; a
heartbeat thread logs the latest position with ``context.log``. The thread is what keeps the
lines coming while the work sits in one long native call (a decoder, CTranslate2, pdfium, an
HTTP request): the position then stops moving, but the elapsed time keeps saying the step is
alive.

Timing: the first line after ``FIRST_LINE_S`` (work shorter than that says nothing), then one
every ``EVERY_S``, never two closer than ``MIN_GAP_S``; the heartbeat stops when the work ends,
also when it raises (``heartbeat`` is a context manager).

``context.log`` from a second thread is safe here: Dagster's log manager hands each record to
its handlers, which write it to the event log storage through their own connections, and this
project's executor already runs the steps of a run on threads of one process, all logging at
once (``dagster_internals/executor.py``).

Lines begin with ``PREFIX`` so `progress_lines` can pick them out of a run's event log for the
CLI (``media-analysis submit --wait``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dagster import DagsterInstance, OpExecutionContext

__all__ = [
    "EVERY_S",
    "FIRST_LINE_S",
    "PREFIX",
    "WORK_TEMPLATES",
    "Busy",
    "Counted",
    "FileGrowth",
    "OnProgress",
    "Phase",
    "ProviderCalls",
    "Report",
    "Uploads",
    "heartbeat",
    "progress_lines",
    "step_progress",
]

PREFIX = "progress: "
#: Seconds before the first line: work that ends sooner logs nothing.
FIRST_LINE_S = 3.0
#: Seconds between lines (the promise is at least one every 10 s, with room for a busy machine).
EVERY_S = 5.0
#: Lines are never closer than this, even when the heartbeat falls behind its schedule.
MIN_GAP_S = 2.0
#: How the offline work of an analysis says how far it is (``ProviderCalls.working``).
WORK_TEMPLATES = {
    "transcription": "transcribed {done} of {total} s",
    "scene_detection": "scene detection: {done} of {total} s decoded",
    "motion_analysis": "scene detection: {done} of {total} s decoded",
}

OnProgress = Callable[[float, float], None]
Clock = Callable[[], float]
T = TypeVar("T")
P = TypeVar("P", bound="Phase")
log = logging.getLogger(__name__)


def _number(value: float) -> str:
    """A count or a number of seconds done as a person reads it: whole (rounded down, so it
    never claims what is not done yet), never negative."""
    return str(max(0, math.floor(value + 1e-9)))


def _megabytes(size: float) -> str:
    mb = size / 1e6
    return f"{mb:.1f}" if mb < 10 else f"{mb:.0f}"


def _shortened(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut at a word with an ellipsis when longer than ``limit``."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.0f} s"


class Phase:
    """One stretch of a step's work; ``line`` says how far it is at ``now`` (monotonic)."""

    started = 0.0

    def line(self, now: float) -> str:
        raise NotImplementedError


class Counted(Phase):
    """Work counted in one unit: the ``on_progress(done, total)`` callback of the media code.

    ``template`` holds ``{done}`` and ``{total}``, e.g. ``"extracted {done} of {total} frames"``.
    Calling the object only stores the position (one assignment), so it is cheap per frame."""

    def __init__(self, template: str, total: float | None = None) -> None:
        self.template = template
        self.position: tuple[float, float] | None = None if total is None else (0.0, total)

    def __call__(self, done: float, total: float) -> None:
        self.position = (done, total)

    def line(self, now: float) -> str:
        elapsed = _seconds(now - self.started)
        position = self.position
        if position is None:
            return f"{self.template.format(done='0', total='?')} ({elapsed} so far)"
        done, total = position
        whole = max(0, round(total))  # 284.6 s of audio reads "285 s"; done counts up to it
        shown = whole if done >= total else min(whole, int(_number(done)))
        text = self.template.format(done=shown, total=whole)
        if total <= 0:
            return f"{text} ({elapsed} so far)"
        share = min(100, math.floor(100 * done / total))
        return f"{text} ({share} %, {elapsed} so far)"


class Uploads(Phase):
    """Files handed to the artifact store, counted in files and in bytes."""

    def __init__(self, verb: str, files: int, size_bytes: int) -> None:
        self.verb, self.files, self.size_bytes = verb, files, size_bytes
        self.position = (0, 0)

    def add(self, size_bytes: int) -> None:
        done, size = self.position
        self.position = (done + 1, size + size_bytes)

    def line(self, now: float) -> str:
        done, size = self.position
        return (
            f"{self.verb} {done} of {self.files} files ({_megabytes(size)} of "
            f"{_megabytes(self.size_bytes)} MB), {_seconds(now - self.started)} so far"
        )


class FileGrowth(Phase):
    """A file being written by code that reports nothing (a copy, a bucket read, a download the
    caller cannot hand a callback to): its size, read at each line. Every file in ``folder``
    whose name starts with ``name`` counts, so ``name.part`` and a client's temporary
    ``name.1a2b3c`` do too."""

    def __init__(self, verb: str, folder: Path, name: str, limit_bytes: int) -> None:
        self.verb, self.folder, self.name, self.limit_bytes = verb, folder, name, limit_bytes

    def written(self) -> int:
        try:
            files = [p for p in self.folder.iterdir() if p.name.startswith(self.name)]
            return sum(p.stat().st_size for p in files if p.is_file())
        except OSError:  # a file renamed between the listing and the stat: next line
            return 0

    def line(self, now: float) -> str:
        return (
            f"{self.verb} {_megabytes(self.written())} MB (limit {_megabytes(self.limit_bytes)} "
            f"MB), {_seconds(now - self.started)} so far"
        )


class Busy(Phase):
    """Work that cannot say how far it is: the line says that it runs, and for how long."""

    def __init__(self, label: str) -> None:
        self.label = label

    def line(self, now: float) -> str:
        return f"{self.label}: working, {_seconds(now - self.started)} so far"


@dataclass(frozen=True)
class _Call:
    provider: str
    attempt: int
    attempts: int
    since: float  # when the call started, or when the wait before a retry began
    delay_s: float
    reason: str | None


class ProviderCalls(Phase):
    """What an analysis is doing: which provider it waits for and on which attempt, or how far
    an offline provider's own work is. It is the ``providers.chain.ChainWatch`` of a chain."""

    def __init__(self, result_type: str, clock: Clock = time.monotonic) -> None:
        self.result_type, self.clock = result_type, clock
        self.call: _Call | None = None
        self.work: tuple[float, float] | None = None

    def calling(
        self,
        provider: str,
        attempt: int,
        attempts: int,
        delay_s: float = 0.0,
        reason: str | None = None,
    ) -> None:
        self.work = None
        self.call = _Call(provider, attempt, attempts, self.clock(), delay_s, reason)

    def working(self, done: float, total: float) -> None:
        self.work = (done, total)

    def line(self, now: float) -> str:
        call, work = self.call, self.work
        if call is None:
            return f"{self.result_type}: starting ({_seconds(now - self.started)} so far)"
        name = f"{call.provider} {self.result_type}"
        if work is not None:
            template = WORK_TEMPLATES.get(self.result_type, "{done} of {total} done")
            counted = Counted(template)
            counted.started, counted.position = call.since, work
            return f"{name}: {counted.line(now)}"
        if call.provider == "internal":  # offline work that has not said how far it is yet
            return f"{name}: working, {_seconds(now - call.since)} so far"
        attempt = f" (attempt {call.attempt} of {call.attempts})" if call.attempt > 1 else ""
        waits_until = call.since + call.delay_s
        if now < waits_until:
            why = f" after {_shortened(call.reason)}" if call.reason else ""
            return f"{name}: retrying in {_seconds(waits_until - now)}{attempt}{why}"
        return f"{name}: waiting for the answer{attempt}, {_seconds(now - waits_until)}"


class Report:
    """The current phase of one step; the heartbeat logs its line. A step moves from phase to
    phase (scene detection, then frames, then uploads) by beginning the next one."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.phase: Phase | None = None

    def begin(self, phase: P) -> P:
        phase.started = self.clock()
        self.phase = phase
        return phase

    def counting(self, template: str, total: float | None = None) -> Counted:
        """A new counted phase; pass the result as the work's ``on_progress``."""
        return self.begin(Counted(template, total))

    def busy(self, label: str) -> Busy:
        return self.begin(Busy(label))

    def file_growth(self, verb: str, path: Path, limit_bytes: int) -> FileGrowth:
        """Watch ``path`` (and its ``.part``) grow, as ``"<verb> 96 MB (limit 2048 MB)"``."""
        return self.begin(FileGrowth(verb, path.parent, path.name, limit_bytes))

    def calls(self, result_type: str) -> ProviderCalls:
        return self.begin(ProviderCalls(result_type, self.clock))

    def line(self) -> str | None:
        phase = self.phase
        return None if phase is None else phase.line(self.clock())

    def store_each(
        self, paths: Sequence[Any], stored: Callable[[Any], T], *, remote: bool
    ) -> list[T]:
        """``stored(path)`` for each file, counted as an upload (a bucket) or a store (local)."""
        sizes = [_size(p) for p in paths]
        phase = self.begin(Uploads("uploaded" if remote else "stored", len(paths), sum(sizes)))
        refs = []
        for path, size in zip(paths, sizes, strict=True):
            refs.append(stored(path))
            phase.add(size)
        return refs


def _size(path: Any) -> int:
    try:
        return int(path.stat().st_size)
    except (AttributeError, OSError):
        return 0


class _Heartbeat(threading.Thread):
    def __init__(
        self, report: Report, say: Callable[[str], None], first_s: float, every_s: float
    ) -> None:
        super().__init__(name="progress-heartbeat", daemon=True)
        self.report, self.say = report, say
        self.first_s, self.every_s = first_s, every_s
        self.stopped = threading.Event()

    def run(self) -> None:
        clock = self.report.clock
        due = clock() + self.first_s
        while not self.stopped.wait(max(0.0, due - clock())):
            line = self.report.line()
            if line:
                try:
                    self.say(PREFIX + line)
                except Exception:  # a lost progress line must never fail the work
                    log.debug("progress line not logged", exc_info=True)
            now = clock()
            due = max(due + self.every_s, now + min(MIN_GAP_S, self.every_s))


@contextmanager
def heartbeat(
    say: Callable[[str], None],
    *,
    first_s: float = FIRST_LINE_S,
    every_s: float = EVERY_S,
    clock: Clock = time.monotonic,
) -> Iterator[Report]:
    """Log the ``Report``'s line with ``say`` (``context.log.info``) after ``first_s`` and then
    every ``every_s`` seconds until the block ends, however it ends."""
    report = Report(clock)
    beat = _Heartbeat(report, say, first_s, every_s)
    beat.start()
    try:
        yield report
    finally:
        beat.stopped.set()
        beat.join(timeout=max(10.0, every_s))


def step_progress(
    context: OpExecutionContext, *, first_s: float = FIRST_LINE_S, every_s: float = EVERY_S
) -> AbstractContextManager[Report]:
    """``heartbeat`` into the step's event log: ``with step_progress(context) as report:``."""
    return heartbeat(context.log.info, first_s=first_s, every_s=every_s)


def progress_lines(
    instance: DagsterInstance, run_id: str, after_storage_id: int = 0, *, page: int = 500
) -> list[tuple[int, str]]:
    """The progress lines of a run logged after ``after_storage_id``, oldest first, as
    ``(storage_id, "step_key: line")``; pass the last storage id back to get only newer ones.

    The event log is read newest first and only back to ``after_storage_id``, so a poll costs
    what is new, not the whole log (public ``DagsterInstance`` API only)."""
    found: list[tuple[int, str]] = []
    cursor = None
    while True:
        connection = instance.get_records_for_run(
            run_id, cursor=cursor, limit=page, ascending=False
        )
        for record in connection.records:
            if record.storage_id <= after_storage_id:
                return sorted(found)
            entry = record.event_log_entry
            message = entry.user_message or ""
            if entry.dagster_event is None and message.startswith(PREFIX):
                step = entry.step_key or "run"
                found.append((record.storage_id, f"{step}: {message[len(PREFIX) :]}"))
        if not connection.has_more or not connection.records:
            return sorted(found)
        cursor = connection.cursor
