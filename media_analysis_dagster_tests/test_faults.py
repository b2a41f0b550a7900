"""Faults under load, the CI version of ``benchmarks/faults.py``: its scenarios with tens of rows.

One throwaway PostgreSQL cluster started here (``pg.own_cluster``: initdb/pg_ctl on a free port,
never the shared server, since it is restarted), the three production processes on it, and in
order: a burst, PostgreSQL restarted mid-burst, the daemon SIGKILLed and restarted mid-burst, the
code server's process group SIGKILLed while slow runs execute, and a full data filesystem.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks import faults

# Part of ``make test`` (``make test-faults`` runs only these): about 4 minutes on an idle
# 2-core machine, 9 under a load average of 20.
pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.faults]

ROWS = 20
FAULT_ROWS = 12
DRAIN_S = 600.0
"""Correctness is asserted, not speed: 20 rows took 60 s on an idle 2-core machine, 6 min at a
load average of 25."""
CODE_SERVER_BOUND_S = 150.0
"""SIGKILL of the code server's group → the final attempt's row ``failed``: the restart plus
``run_liveness_sensor`` (30 s interval, 5 s daemon loop) plus ``failed_run_sync_sensor`` (30 s)."""


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    if not shutil.which("initdb") and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("no initdb/pg_ctl: the PostgreSQL restart needs a cluster of its own")
    base = tmp_path_factory.mktemp("faults")
    with faults.fault_stack(base) as (stack, cluster):
        short, big = faults.clips(base)
        for clip in (short, big):
            shutil.copyfile(clip, stack.inbox / clip.name)
        yield stack, cluster, base


def clip(running: tuple[Any, Any, Path], name: str = "clip.mp4") -> str:
    return str(running[0].inbox / name)


def no_loss(result: dict[str, Any]) -> None:
    assert result["not_ended"] == 0 and result["never_launched"] == 0, result
    assert result["launched_twice"] == 0, result


@pytest.mark.timeout(700)
def test_burst_drains_once_each(running: tuple[Any, Any, Path]) -> None:
    stack = running[0]
    result = faults.burst(stack, clip(running), ROWS, DRAIN_S)
    no_loss(result)
    assert result["status"] == {"completed": ROWS}, result
    print(f"\nburst: {result}")


@pytest.mark.timeout(600)
def test_code_server_death_fails_its_runs(running: tuple[Any, Any, Path]) -> None:
    """Issue 9: the run workers die with their code server; ``run_liveness_sensor`` fails their
    runs. The final attempt's row ends ``failed`` with a readable reason within the bound; the
    sensor-launched rows are retried (``run_retries``) and complete."""
    stack, _, base = running
    result = faults.code_server_kill(stack, base / "clip.mp4")
    assert result["final_status"] == "failed", result
    assert result["kill_to_failed_s"] is not None
    assert result["kill_to_failed_s"] <= CODE_SERVER_BOUND_S, result
    assert "is gone: the code server or the worker died." in result["final_reason"], result
    assert result["final_error_type"] == "RunWorkerGone"
    assert set(result["relaunched"].values()) == {"completed"}, result
    assert result["launched_twice"] == 0 and result["not_ended"] == 0, result
    print(f"\ncode server kill: {result}")


@pytest.mark.timeout(900)
def test_daemon_killed_mid_burst(running: tuple[Any, Any, Path]) -> None:
    stack = running[0]
    result = faults.daemon_kill(stack, clip(running), FAULT_ROWS)
    no_loss(result)
    assert set(result["status"]) <= {"completed", "failed"}, result
    print(f"\ndaemon kill: {result}")


@pytest.mark.timeout(360)
@pytest.mark.parametrize("room", ["none", "original only"])
def test_full_disk_fails_the_row_and_leaves_no_files(
    running: tuple[Any, Any, Path], room: str
) -> None:
    """The data filesystem full while the original is copied, or later (room for the copy): the
    row ends failed and the failing step leaves no partial file (earlier steps' outputs stay,
    for a re-execution from failure)."""
    stack = running[0]
    big = stack.inbox / "big.mp4"
    free = 64 * 1024 + (big.stat().st_size if room == "original only" else 0)
    result = faults.disk_full(stack, big, free)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert result["status"] == {"failed": 1}, result
    assert result["reason"], result
    assert result["partial_left"] == [], result
    print(f"\ndisk full ({room}): {result}")


@pytest.mark.timeout(900)
def test_postgres_restart_mid_burst(running: tuple[Any, Any, Path]) -> None:
    stack, cluster, _ = running
    result = faults.postgres_restart(stack, cluster, clip(running), FAULT_ROWS)
    no_loss(result)
    assert set(result["status"]) <= {"completed", "failed"}, result
    assert "NO REASON" not in result["reasons"], result
    assert result["after_restart"] == {"completed": 3}, "Dagster's storage recovered"
    assert result["graphql_launch_after_restart"] == "ok", (
        "the webserver's first launch after the restart must not fail on a stale pooled connection"
    )
    print(f"\npostgres restart: {result}")
