"""What several benchmarks share, defined once: the cache of generated videos, child processes
and their peak memory, percentiles, and bursts of pending rows on a running stack.

Benchmarks run as modules from the repository root (``python -m benchmarks.frames``), so this
package and ``media_analysis_fixtures`` (test support, not installed) are found without any
``sys.path`` change; a child process is started the same way, from the root. Only the standard
library is imported at the top: a benchmark's child process measures its own time and peak
memory, which must not include code it does not use (the database layer, Dagster).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".bench"
"""Generated benchmark videos, kept between runs (their names say what they hold)."""
ENDED = frozenset({"completed", "failed", "cancelled"})


def module_command(module: str, *args: str) -> list[str]:
    """``python -m <module> <args>`` with this interpreter; run it with ``cwd=ROOT``."""
    return [sys.executable, "-m", module, *args]


def peak_rss_mb(pid: int | str = "self") -> float:
    """VmHWM of a process: the peak resident memory of its own image. (ru_maxrss of a child
    would also count its parent's, which a vfork+exec carries over on Linux.)"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def long_video(cache: Path, duration: float, size: tuple[int, int], fps: int = 30) -> Path:
    """The cached ``make_long_video`` video (test patterns, a hard cut every 15 s), generated on
    first use; the frame, scene and storage benchmarks share the file."""
    from media_analysis_fixtures import make_long_video

    path = cache / f"long_{duration:g}s_{size[0]}x{size[1]}_{fps}fps.mp4"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", flush=True)
        part = path.with_suffix(".part.mp4")
        make_long_video(part, float(duration), size, fps)
        part.rename(path)
    return path


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 20 samples p95 is the 19th)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def wait_ended(
    database_url: str,
    ids: list[str],
    timeout: float,
    *,
    on_poll: Callable[[int], None] | None = None,
    interval: float = 1.0,
) -> dict[str, dict[str, Any]]:
    """The rows once every one has ended, or as they are after ``timeout`` (the caller reports
    the ones still open). Polls statuses only (one query); ``on_poll`` gets the number ended
    and may raise to stop. Database errors (PostgreSQL restarting) count as "not yet"."""
    from sqlalchemy.exc import SQLAlchemyError

    from media_analysis_fixtures.tables import read_requests, request_statuses

    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while True:
        try:
            statuses = request_statuses(database_url, ids)
        except SQLAlchemyError:
            pass
        else:
            done = sum(statuses.get(i) in ENDED for i in ids)
            if on_poll:
                on_poll(done)
            if done == len(ids):
                break
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    try:
        return read_requests(database_url, ids)
    except SQLAlchemyError:
        return {i: {"status": s} for i, s in statuses.items()}


@dataclass
class Burst:
    """Pending rows inserted at once, and their rows once they ended."""

    inserted: list[tuple[str, datetime]]
    rows: dict[str, dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [rid for rid, _ in self.inserted]

    def drain(self) -> dict[str, Any]:
        """First insert → last ``completed_at`` (s), and requests per minute over that span."""
        ends = [r["completed_at"].timestamp() for r in self.rows.values() if r.get("completed_at")]
        if not ends:
            return {"drain_s": math.nan, "per_minute": None}
        span = max(ends) - min(created.timestamp() for _, created in self.inserted)
        return {"drain_s": round(span, 1), "per_minute": round(len(self.inserted) / span * 60, 1)}


def pending_burst(
    database_url: str,
    clip: str,
    count: int,
    timeout: float,
    *,
    on_poll: Callable[[int], None] | None = None,
    interval: float = 1.0,
) -> Burst:
    """``count`` pending rows of ``clip`` in one go (as n8n inserts them), waited for until
    all have ended or ``timeout`` passed (see `wait_ended`)."""
    from media_analysis_fixtures.tables import insert_pending

    inserted = insert_pending(database_url, count, media_path=clip)
    ids = [rid for rid, _ in inserted]
    rows = wait_ended(database_url, ids, timeout, on_poll=on_poll, interval=interval)
    return Burst(inserted, rows)
