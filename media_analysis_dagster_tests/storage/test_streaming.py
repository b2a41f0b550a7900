"""Transfers stream: a child process moves a 64 MB file through each backend and its peak
resident memory grows by a bounded amount, far below the file's size.

The servers run in this process; only the client runs in the measured child, so the figure is
the client's own (moto and the emulator keep objects in memory, which is theirs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from media_analysis_fixtures.object_servers import GcsServer, S3Server
from media_analysis_fixtures.peak_memory import run_measured

from .conftest import backend_config

FILE_MB = 64
# What put, get and open together may add to the peak: S3 keeps four 8 MiB parts in flight,
# GCS one 8 MiB upload chunk and one 8 MiB read-ahead. Measured: s3 +26 MB, gcs +32 MB.
BOUND_MB = 40

IMPORTS = """
import hashlib, json, os
from pathlib import Path
import boto3, google.cloud.storage  # loaded before the baseline is read
from media_analysis_dagster.storage import StorageConfig, open_store
"""

BODY = """
fields = json.loads({fields!r})
fields["local_root"] = Path(fields["local_root"])
big, small = Path({big!r}), Path({small!r})
with open_store(StorageConfig(**fields)) as store:
    store.put_file("requests/warm/x/small.bin", small)  # clients and models loaded
    store.get_file("requests/warm/x/small.bin", big.parent / "small.back")
    result["warm_mb"] = _status_mb("VmHWM")
    stored = store.put_file("requests/big/x/big.bin", big)
    result["after_put_mb"] = _status_mb("VmHWM")
    store.get_file("requests/big/x/big.bin", big.parent / "big.back")
    result["after_get_mb"] = _status_mb("VmHWM")
    digest = hashlib.sha256()
    with store.open("requests/big/x/big.bin") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    result["sha_put"], result["sha_open"] = stored.sha256, digest.hexdigest()
    store.delete_prefix("requests/")
"""


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.bin"
    block = bytes(range(256)) * 4096  # 1 MiB, varied so nothing compresses it away
    with open(path, "wb") as out:
        for index in range(FILE_MB):
            out.write(block[index:] + block[:index])
    return path


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_peak_memory_does_not_follow_file_size(
    kind: str, big_file: Path, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> None:
    small = tmp_path / "small.bin"
    small.write_bytes(b"warm" * 1000)
    config = backend_config(kind, tmp_path, s3_server, gcs_server)
    fields = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in vars(config).items()
    }
    body = BODY.format(fields=json.dumps(fields), big=str(big_file), small=str(small))
    result = run_measured(IMPORTS, body, timeout=240)
    added = result["peak_mb"] - result["warm_mb"]
    assert result["sha_put"] == result["sha_open"]
    assert added < BOUND_MB < FILE_MB, result
