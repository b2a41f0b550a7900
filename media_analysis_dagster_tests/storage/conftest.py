"""Storage tests: real S3 (moto) and GCS (gcp-storage-emulator) servers on 127.0.0.1, a local
data dir, and one multi-MB payload shared by every round trip."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from media_analysis_dagster.storage import ArtifactStore, StorageConfig, open_store
from media_analysis_fixtures import object_servers
from media_analysis_fixtures.object_servers import GcsServer, S3Server

# The session-scoped servers (moto S3, GCS emulator), visible to every test here.
s3_server = object_servers.s3_server
gcs_server = object_servers.gcs_server

BACKENDS = ["local", "s3", "r2", "gcs"]
PAYLOAD_BYTES = 17 * 1024 * 1024 + 12_345  # above the 16 MiB multipart threshold: 3 parts


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's cloud settings must not leak into explicit test configs."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in {
            "GOOGLE_APPLICATION_CREDENTIALS",
            "STORAGE_EMULATOR_HOST",
            "API_ENDPOINT_OVERRIDE",
            "GOOGLE_CLOUD_PROJECT",
        }:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def payload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(a 17 MB random file, its sha256)."""
    path = tmp_path_factory.mktemp("payload") / "original.bin"
    data = os.urandom(PAYLOAD_BYTES)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def backend_config(
    kind: str, root: Path, s3: S3Server, gcs: GcsServer, **fields: object
) -> StorageConfig:
    """A config for ``kind`` with a prefix of its own, so tests sharing a bucket never meet."""
    prefix = f"t-{uuid.uuid4().hex[:10]}/media-analysis/"
    if kind == "local":
        return StorageConfig(kind="local", local_root=root, **fields)  # type: ignore[arg-type]
    if kind == "gcs":
        return gcs.config(root, prefix=prefix, **fields)
    return s3.config(root, kind=kind, prefix=prefix, **fields)


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> Iterator[ArtifactStore]:
    """Each backend in turn, against its real server."""
    config = backend_config(request.param, tmp_path / "data", s3_server, gcs_server)
    with open_store(config) as opened:
        yield opened
