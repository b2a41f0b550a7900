"""What does a bucket cost a whole request? media_analysis_job on a 10-minute 720p video with
``MEDIA_ANALYSIS_STORAGE=local`` against ``s3`` (moto's server), in one run of this script.

The job is the definitions' own, executed in this process (``execute_in_process``) with its
resources built from the environment as the code location builds them
(``media_analysis_fixtures.resources.resources_from_env``), the tables in a temporary SQLite
file and speech-to-text off, so the two runs differ only in where artifacts go. With ``s3``
every artifact (the ~100 MB original included) is hashed, uploaded in 8 MiB parts as it is
made and the run's scratch folder is emptied at the end. moto runs in a child process on
127.0.0.1 (``object_servers_process``) and keeps objects in memory: the figure bounds the
client-side overhead, not a real network's. The video is generated once under ``.bench/``
(the same file ``benchmarks/frames.py`` uses).

    .venv/bin/python -m benchmarks.storage_pipeline [--duration 600] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._common import CACHE, long_video

SIZE = (1280, 720)
FPS = 30


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block: the resources' secrets (``EnvVar``, the
    object-storage keys) are read from it when the run uses them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_once(video: Path, work: Path, storage_env: Mapping[str, str]) -> dict[str, Any]:
    """One request through ``media_analysis_job``: wall time, stored bytes, leftovers on disk."""
    from dagster import DagsterInstance

    from media_analysis_dagster.db.engine import connect_engine
    from media_analysis_dagster.db.store import Store
    from media_analysis_dagster.definitions import build_definitions
    from media_analysis_dagster.tags import TAG_REQUEST_ID
    from media_analysis_fixtures.resources import resources_from_env

    data_dir = work / "data"
    inbox = data_dir / "inbox"
    inbox.mkdir(parents=True)
    media = Path(shutil.copyfile(video, inbox / video.name))
    db_url = f"sqlite:///{work / 'tables.db'}"
    env = {
        "MEDIA_ANALYSIS_DATABASE_URL": db_url,
        "MEDIA_ANALYSIS_DATA_DIR": str(data_dir),
        "MEDIA_ANALYSIS_MEDIA_ROOTS": str(inbox),
        "MEDIA_ANALYSIS_WHISPER_MODEL": "off",
        **storage_env,
    }
    with environment(env), DagsterInstance.ephemeral() as instance:
        job = build_definitions().resolve_job_def("media_analysis_job")
        start = time.perf_counter()
        result = job.execute_in_process(
            run_config={
                "ops": {"register_request": {"config": {"media_path": str(media)}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            resources=resources_from_env(),
            instance=instance,
            raise_on_error=False,
        )
        seconds = time.perf_counter() - start
        run = instance.get_run_by_id(result.run_id)
    request_id = run.tags.get(TAG_REQUEST_ID) if run else None
    engine = connect_engine(db_url)
    row = Store(engine).get_request(request_id) if request_id else None
    engine.dispose()
    files = row["files"] if row else []
    scratch = data_dir / "scratch"
    return {
        "success": result.success,
        "status": row["status"] if row else None,
        "seconds": seconds,
        "files": len(files),
        "stored_mb": sum(f["file_size_bytes"] or 0 for f in files) / 1e6,
        "locations": sorted({f["storage_location"] for f in files}),
        "scratch_files_left": (
            sum(1 for p in scratch.rglob("*") if p.is_file()) if scratch.exists() else 0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=600, help="video length in seconds")
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend (best kept)")
    args = parser.parse_args()

    from media_analysis_fixtures.object_servers import object_servers_process

    video = long_video(CACHE, args.duration, SIZE, FPS)
    print(f"video: {video.name}, {video.stat().st_size / 1e6:.1f} MB", flush=True)
    best: dict[str, dict[str, Any]] = {}
    with object_servers_process() as (s3, _gcs):
        backends = {"local": {"MEDIA_ANALYSIS_STORAGE": "local"}, "s3": s3.env()}
        for i in range(args.repeat):
            for name, storage_env in backends.items():
                with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
                    figures = run_once(video, Path(tmp), storage_env)
                print(f"{name} #{i + 1}: {figures}", flush=True)
                if not figures["success"] or figures["status"] != "completed":
                    raise SystemExit(f"the {name} run did not complete: {figures}")
                if name not in best or figures["seconds"] < best[name]["seconds"]:
                    best[name] = figures
    local, remote = best["local"]["seconds"], best["s3"]["seconds"]
    print(
        f"\nlocal {local:.1f} s, s3 (moto) {remote:.1f} s, ratio s3/local {remote / local:.2f} "
        f"({remote - local:+.1f} s for {best['s3']['files']} files, "
        f"{best['s3']['stored_mb']:.1f} MB)"
    )


if __name__ == "__main__":
    main()
