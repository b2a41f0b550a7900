"""How fast do artifacts move? put_file / get_file / open of one ~100 MB file per backend.

local (the data dir) against S3 (moto's server) and GCS (gcp-storage-emulator), both in a child
process on 127.0.0.1 so they do not share this interpreter. The servers are test doubles that
keep objects in memory: their figures bound the client's overhead (hashing, signing,
multipart, chunking), not what AWS, R2 or GCS would do over a real network. The sha256 pass
is printed as the floor every put pays.

    .venv/bin/python -m benchmarks.storage [--mb 100] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def best_of(repeat: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def make_file(path: Path, mb: int) -> None:
    with open(path, "wb") as out:
        for _ in range(mb):
            out.write(os.urandom(1024 * 1024))


def bench_store(config: object, source: Path, work: Path, repeat: int) -> dict[str, float]:
    from media_analysis_dagster.storage import StorageConfig, open_store

    assert isinstance(config, StorageConfig)
    key = "requests/bench/original/big.bin"
    with open_store(config) as store:
        store.check()

        def read_all() -> None:
            with store.open(key) as stream:
                while stream.read(1 << 20):
                    pass

        figures = {
            "put": best_of(repeat, lambda: store.put_file(key, source)),
            "get": best_of(repeat, lambda: store.get_file(key, work / "back.bin")),
            "open": best_of(repeat, read_all),
        }
        store.delete_prefix("requests/bench/")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MiB")
    parser.add_argument("--repeat", type=int, default=2, help="best of this many runs")
    args = parser.parse_args()

    from media_analysis_dagster.storage import StorageConfig
    from media_analysis_dagster.storage.base import file_sha256
    from media_analysis_fixtures.object_servers import object_servers_process

    with tempfile.TemporaryDirectory() as tmp, object_servers_process() as (s3, gcs):
        work = Path(tmp)
        source = work / "source.bin"
        make_file(source, args.mb)
        print(f"{args.mb} MiB file, best of {args.repeat}; MB/s = MiB per second")
        hashing = best_of(args.repeat, lambda: file_sha256(source))
        print(f"{'sha256 pass':<22} {hashing:6.2f} s  {args.mb / hashing:7.1f} MB/s")
        configs = {
            "local (copy in)": StorageConfig(kind="local", local_root=work / "data"),
            "s3 (moto server)": s3.config(work / "data"),
            "gcs (emulator)": gcs.config(work / "data"),
        }
        for label, config in configs.items():
            figures = bench_store(config, source, work, args.repeat)
            line = "  ".join(
                f"{op} {secs:6.2f} s {args.mb / secs:7.1f} MB/s" for op, secs in figures.items()
            )
            print(f"{label:<22} {line}", flush=True)


if __name__ == "__main__":
    main()
