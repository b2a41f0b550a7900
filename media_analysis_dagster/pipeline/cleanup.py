"""What the retention job touches outside the tables: files on disk and Dagster runs.

Two rules live here so they can be read (and tested) on their own:

- A file is deleted only when it resolves inside the data dir's ``requests/`` folder, where
  runs write. A ``media_files`` path that points anywhere else — outside the data dir (a
  symlink out, a hand-written row) or inside it but elsewhere (``inbox/`` holds the users'
  inputs, ``dagster_home/`` the dev instance) — is reported and left alone: the retention job
  must never become a way to delete arbitrary files.
- A ``processing`` request is stuck only when no run of it can still write to it: every run
  tagged with its id has finished (and none is about to be retried), or there is no run at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterInstance

from ..storage.paths import is_inside, remove
from .request_runs import runs_by_request, will_retry


@dataclass
class FilePlan:
    """The files of one request that retention may delete, and the paths it must not."""

    request_dir: Path
    files: dict[Path, int] = field(default_factory=dict)  # resolved path -> size in bytes
    outside: list[str] = field(default_factory=list)  # paths not deletable(): left alone

    @property
    def size(self) -> int:
        return sum(self.files.values())


def deletable(root: Path, path: str | Path) -> bool:
    """Inside ``<data dir>/requests/`` once symlinks are resolved."""
    return is_inside(path, root / "requests")


def plan_files(root: Path, request_id: str, paths: Iterable[str]) -> FilePlan:
    """The request's ``media_files`` paths and everything under ``requests/<id>/`` of the data
    dir ``root``."""
    plan = FilePlan(request_dir=root / "requests" / str(request_id))
    for raw in paths:
        if not deletable(root, raw):
            if raw not in plan.outside:
                plan.outside.append(raw)
            continue
        path = Path(raw).resolve()
        if path.is_file():
            plan.files[path] = path.stat().st_size
    if plan.request_dir.is_dir() and deletable(root, plan.request_dir):
        # os.walk does not follow symlinked folders; symlinks themselves go with the folder.
        for folder, _dirs, names in os.walk(plan.request_dir):
            for name in names:
                path = Path(folder, name)
                if path.is_file() and not path.is_symlink() and deletable(root, path):
                    plan.files.setdefault(path.resolve(), path.stat().st_size)
    return plan


def delete_files(root: Path, plan: FilePlan) -> tuple[int, int]:
    """Delete the planned files and the request folder; ``(files deleted, bytes freed)``."""
    count = freed = 0
    for path, size in plan.files.items():
        if remove(path, root):
            count += 1
            freed += size
    remove(plan.request_dir, root)
    return count, freed


@dataclass(frozen=True)
class RunVerdict:
    """Whether a request still has a live run, and the run that decided it."""

    alive: bool
    run_id: str | None = None
    status: str | None = None

    def stuck_message(self) -> str:
        """The ``error_message`` of a request failed because its run is gone."""
        if self.run_id is None:
            return (
                "The request was still processing but no Dagster run exists for it; "
                "marked failed by retention cleanup."
            )
        return (
            f"The request was still processing but its Dagster run {self.run_id} had ended "
            f"({self.status}); marked failed by retention cleanup."
        )


def request_run_verdict(instance: DagsterInstance, request_id: str) -> RunVerdict:
    """Look at every run tagged with the request id (newest first)."""
    runs = [r.dagster_run for r in runs_by_request(instance, [request_id])[request_id]]
    if not runs:
        return RunVerdict(alive=False)
    for run in runs:
        if not run.is_finished:
            return RunVerdict(alive=True, run_id=run.run_id, status=run.status.value)
    latest = runs[0]
    return RunVerdict(alive=will_retry(latest), run_id=latest.run_id, status=latest.status.value)


def finished_run_ids(instance: DagsterInstance, request_ids: Sequence[str]) -> list[str]:
    """Finished runs of these requests (one query; an unfinished run is never deleted)."""
    runs = runs_by_request(instance, request_ids)
    return [r.dagster_run.run_id for rs in runs.values() for r in rs if r.dagster_run.is_finished]
