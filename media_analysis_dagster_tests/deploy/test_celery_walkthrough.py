"""deploy/celery/README.md's walkthrough, run as written: three "hosts" (directories with their
own environment files), two databases, a throwaway ``redis-server`` on 6390, moto's S3 on 9010,
the control host's three processes and two workers; a request submitted from the control host
completes on a worker that keeps no file, and a reader in a fourth directory fetches its files.

Only ``DEMO`` (where everything goes) is changed, to the test's temporary folder.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from media_analysis_fixtures import pg
from media_analysis_fixtures.processes import ROOT

from .celery_checks import need_redis_server

pytestmark = [pytest.mark.postgres]

README = ROOT / "deploy" / "celery" / "README.md"
PORTS = (4000, 6390, 9010)
DATABASES = ("ma_demo_dagster", "ma_demo_tables")


def walkthrough() -> str:
    """The shell block under "One machine, two worker hosts"."""
    section = README.read_text().split("## One machine, two worker hosts", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def _busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _drop_demo_databases(admin_url: str) -> None:
    for name in DATABASES:
        pg.drop_database(admin_url, name)


@pytest.mark.timeout(900)
def test_the_walkthrough_completes_a_request_fetched_from_a_third_directory(
    tmp_path: Path, pg_admin_url: str
) -> None:
    need_redis_server()
    admin = make_url(pg_admin_url)
    if (admin.port or 5432, admin.host) != (5432, "127.0.0.1") or shutil.which("psql") is None:
        pytest.skip("the walkthrough uses psql on 127.0.0.1:5432 as written")
    if busy := [p for p in PORTS if _busy(p)]:
        pytest.skip(f"the walkthrough's ports are in use here: {busy}")
    demo = tmp_path / "demo"
    script = walkthrough().replace("DEMO=/tmp/ma-celery-demo", f"DEMO={demo}")
    assert f"DEMO={demo}" in script
    _drop_demo_databases(pg_admin_url)
    try:
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=840,
        )
    finally:
        _drop_demo_databases(pg_admin_url)
    said = done.stdout + done.stderr
    submitted = (demo / "submit.log").read_text().splitlines()
    assert submitted and submitted[-1].startswith("completed"), said[-3000:]
    assert "workers: ['worker-a@" in said and "worker-b@" in said, said[-3000:]
    ran = [h for h in ("worker-a", "worker-b") if f"{demo}/{h}/worker.log" in said]
    assert len(ran) == 1, said[-3000:]  # grep -l names the worker that ran it
    assert not [p for p in demo.glob("worker-*/data/**/*") if p.is_file()]  # no file kept
    fetched = {p.parent.name for p in (demo / "reader" / "files").rglob("*") if p.is_file()}
    assert {"original", "frame", "contact_sheet", "processed"} <= fetched, said[-3000:]
