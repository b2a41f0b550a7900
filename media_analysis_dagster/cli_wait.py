"""``media-analysis submit --wait``: follow one request to its end from the shell.

The row is the truth (the daemon's sensor picks it up, a run claims it, some path ends it), so
the loop polls the row and prints each status change. When it can see the Dagster instance it
also finds the request's run by its ``media_analysis/request_id`` tag and prints the progress
lines the steps log (``pipeline/progress.py``), newest only, so a long transcription is not a
silent minute. Without an instance (no ``DAGSTER_HOME``) it prints status changes only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .cli_output import TERMINAL, clean, span, status_change

PENDING_HINT_S = 30.0
"""After this long still pending with no run, say once what picks pending rows up."""


@dataclass
class _Seen:
    status: str | None = None
    run_id: str | None = None
    after: int = 0
    hinted: bool = False


class Waiter:
    """Polls one request; ``say`` prints a line, ``clock``/``sleep`` are swappable for tests."""

    def __init__(
        self,
        store: Any,
        request_id: str,
        say: Callable[[str], None],
        *,
        instance: Any = None,
        poll_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store, self.request_id, self.say = store, request_id, say
        self.instance, self.poll_s = instance, poll_s
        self.clock, self.sleep = clock, sleep
        self.seen = _Seen()

    def _row(self) -> dict[str, Any]:
        row = self.store.get_request(self.request_id, with_children=False)
        if row is None:
            return {"status": "deleted", "error_message": "the row was deleted while waiting"}
        return dict(row)

    def _run_id(self) -> str | None:
        from .pipeline.request_runs import runs_by_request

        records = runs_by_request(self.instance, [self.request_id])[self.request_id]
        return records[0].dagster_run.run_id if records else None

    def _follow_run(self) -> None:
        """Print the newest run's new progress lines (a retry is a new run: follow it)."""
        from .pipeline.progress import progress_lines

        run_id = self._run_id()
        if run_id is None:
            return
        if run_id != self.seen.run_id:
            self.seen.run_id, self.seen.after = run_id, 0
            self.say(f"run {run_id}")
        for storage_id, text in progress_lines(self.instance, run_id, self.seen.after):
            self.seen.after = max(self.seen.after, storage_id)
            self.say(f"  {clean(text, 200)}")

    def _poll(self, started: float) -> str:
        row = self._row()
        status = str(row.get("status"))
        if self.instance is not None:
            self._follow_run()
        if status != self.seen.status:
            self.seen.status = status
            self.say(status_change(row))
        elapsed = self.clock() - started
        if status == "pending" and elapsed >= PENDING_HINT_S and not self.seen.hinted:
            self.seen.hinted = True
            self.say(
                f"still pending after {span(elapsed)}: pending rows are started by the Dagster "
                "daemon's pending_requests_sensor (`make dev`, or deploy/commands.sh daemon), "
                "which must be running and switched on"
            )
        return status

    def wait(self, timeout_s: float | None = None) -> str:
        """Poll until the request ends (or ``timeout_s`` passes: returns ``"timeout"``)."""
        started = self.clock()
        while True:
            status = self._poll(started)
            if status in TERMINAL or status == "deleted":
                return status
            if timeout_s is not None and self.clock() - started >= timeout_s:
                self.say(
                    f"stopped waiting after {span(timeout_s)}; the request goes on: "
                    f"media-analysis status {self.request_id}"
                )
                return "timeout"
            self.sleep(self.poll_s)
