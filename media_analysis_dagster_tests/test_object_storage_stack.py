"""Object storage with the three production processes: each run works in a scratch folder that
is deleted when it ends, as a pod's disk would be, and the bucket is the only copy.

Code server, webserver and daemon on PostgreSQL (``stack.py``) with
``MEDIA_ANALYSIS_STORAGE=s3`` against moto's S3 server, started here on 127.0.0.1. Pending rows
are inserted as n8n inserts them; the sensor launches one run per row. After the runs end, the
stack's ``scratch/`` holds no file, and every artifact of every row is downloaded with
``media-analysis fetch`` from another data directory (as another machine would) and matches the
row's sha256.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_analysis_dagster import cli
from media_analysis_dagster.db.engine import connect_engine
from media_analysis_dagster.db.store import Store
from media_analysis_fixtures import make_video, pg
from media_analysis_fixtures.graphql import runs
from media_analysis_fixtures.object_servers import S3Server, moto_s3_server
from media_analysis_fixtures.processes import wait_until
from media_analysis_fixtures.stack import DagsterStack, StackSettings
from media_analysis_fixtures.tables import insert_pending

from .test_integration import TAG_REQUEST_ID, TERMINAL, wait_for_rows

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

ROWS = 10
DRAIN_DEADLINE_S = 120.0
"""10 two-second clips uploaded to moto; the 20-row drain without a bucket takes 47-73 s."""
RUNS_END_S = 30.0
"""Row ``completed`` → its run ends (the last step's teardown empties the scratch folder)."""


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    pg_admin_url: str, s3: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_os_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_os_tables")
    settings = StackSettings(
        dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
        database_url=pg.with_database(pg_admin_url, tables_db),
        base_dir=tmp_path_factory.mktemp("stack"),
        env={
            "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_WHISPER_MODEL": "off",
            **s3.env(),
        },
    )
    try:
        with DagsterStack(settings) as running:
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


def _files(database_url: str, request_id: str) -> list[dict[str, Any]]:
    engine = connect_engine(database_url)
    try:
        row = Store(engine).get_request(request_id)
    finally:
        engine.dispose()
    assert row is not None
    return list(row["files"])


def _runs_ended(stack: DagsterStack, ids: list[str]) -> bool:
    stack.check_alive()
    ours = [r for r in runs(stack) if r["tags"].get(TAG_REQUEST_ID) in set(ids)]
    return len(ours) == len(ids) and all(r["status"] in TERMINAL for r in ours)


@pytest.mark.timeout(300)
def test_runs_keep_nothing_on_disk_and_the_bucket_has_every_artifact(
    stack: DagsterStack,
    s3: S3Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clip = make_video(stack.inbox / "clip.mp4", duration=2.0, size=(160, 120))
    inserted = insert_pending(stack.settings.database_url, ROWS, media_path=str(clip))
    ids = [rid for rid, _ in inserted]
    wait_for_rows(stack, ids, {"completed"}, DRAIN_DEADLINE_S, f"{ROWS} rows to complete")
    wait_until(lambda: _runs_ended(stack, ids), timeout=RUNS_END_S, what="the runs to end")

    scratch = stack.data_dir / "scratch"
    assert scratch.is_dir(), "the runs wrote into their scratch folders"
    left = [p for p in scratch.rglob("*") if p.is_file()]
    assert left == [], f"a run left files on the worker's disk: {left[:5]}"
    assert not (stack.data_dir / "requests").exists(), "nothing is stored outside scratch"

    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", stack.settings.database_url)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATA_DIR", str(tmp_path / "another-machine"))
    for rid in ids:
        files = _files(stack.settings.database_url, rid)
        assert "original" in {f["file_type"] for f in files}
        assert {f["storage_location"] for f in files} == {"s3"}
        out = tmp_path / "fetched" / rid
        assert cli.main(["fetch", rid, "--out", str(out)]) == 0
        fetched = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
        assert len(fetched) == len(files), (sorted(fetched), [f["file_path"] for f in files])
        for file in files:
            path = fetched[f"{file['file_type']}/{Path(file['file_path']).name}"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == file["checksum"], file
    capsys.readouterr()
    shutil.rmtree(tmp_path / "fetched")
