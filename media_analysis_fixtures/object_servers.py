"""Real S3 and GCS HTTP servers on 127.0.0.1 for tests: moto's server mode and gcp-storage-emulator.

Both speak the real wire protocol (boto3 signs and streams multipart uploads to moto exactly
as to AWS or R2; google-cloud-storage makes resumable uploads to the emulator), on a free port
each, with buckets created up front. Three ways to use them:

- pytest fixtures (session-scoped): ``s3_server``, ``gcs_server``; register them with
  ``pytest_plugins = ["media_analysis_fixtures.object_servers"]`` in a conftest, or import
  the fixture names into one.
- context managers, in any Python code: ``with moto_s3_server() as s3: ...``,
  ``with gcs_emulator() as gcs: ...``. ``s3.config(root)`` is a ``StorageConfig``;
  ``s3.env()`` the environment variables that make ``settings.py`` build the same config (for
  a subprocess: a Dagster run worker, the CLI).
- a separate process, for tests that must not share the servers' interpreter:
  ``with object_servers_process() as (s3, gcs): ...``, or by hand
  ``python -m media_analysis_fixtures.object_servers`` from the repository root (prints one
  JSON line with both servers' settings and env, serves until its stdin closes or it is
  interrupted).

moto keeps its buckets in process-wide state: two moto servers in one process share them.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from media_analysis_dagster.storage import StorageConfig

TEST_BUCKET = "media-analysis-test"
TEST_REGION = "us-east-1"
TEST_PROJECT = "media-analysis-test"
PREFIX = "media-analysis/"


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 API; any key id/secret is accepted unless IAM auth is switched on."""

    endpoint_url: str
    bucket: str = TEST_BUCKET
    region: str = TEST_REGION
    access_key_id: str = "testing"
    secret_access_key: str = "testing"

    def config(
        self, local_root: Path, *, kind: str = "s3", prefix: str = PREFIX, **fields: Any
    ) -> StorageConfig:
        """A ``StorageConfig`` for this server (``kind='r2'`` for an R2-style config)."""
        values: dict[str, Any] = {
            "kind": kind,
            "local_root": local_root,
            "bucket": self.bucket,
            "prefix": prefix,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        }
        return StorageConfig(**{**values, **fields})

    def env(self, *, kind: str = "s3", prefix: str = PREFIX) -> dict[str, str]:
        """The variables that select this server (README, "Configuration")."""
        return {
            "MEDIA_ANALYSIS_STORAGE": kind,
            "MEDIA_ANALYSIS_STORAGE_BUCKET": self.bucket,
            "MEDIA_ANALYSIS_STORAGE_PREFIX": prefix,
            "MEDIA_ANALYSIS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }

    def client(self, service: str = "s3") -> Any:
        """A boto3 client for administration (creating buckets, IAM users)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        finally:
            client.close()


@dataclass(frozen=True)
class GcsServer:
    """A running gcp-storage-emulator (it does not check credentials)."""

    endpoint_url: str
    bucket: str = TEST_BUCKET
    project: str = TEST_PROJECT

    def config(self, local_root: Path, *, prefix: str = PREFIX, **fields: Any) -> StorageConfig:
        values: dict[str, Any] = {
            "kind": "gcs",
            "local_root": local_root,
            "bucket": self.bucket,
            "prefix": prefix,
            "emulator_host": self.endpoint_url,
            "gcs_project": self.project,
        }
        return StorageConfig(**{**values, **fields})

    def env(self, *, prefix: str = PREFIX) -> dict[str, str]:
        return {
            "MEDIA_ANALYSIS_STORAGE": "gcs",
            "MEDIA_ANALYSIS_STORAGE_BUCKET": self.bucket,
            "MEDIA_ANALYSIS_STORAGE_PREFIX": prefix,
            "STORAGE_EMULATOR_HOST": self.endpoint_url,
        }

    def client(self) -> Any:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint_url),
        )

    def create_bucket(self, name: str) -> None:
        from google.api_core.exceptions import Conflict

        client = self.client()
        try:
            client.create_bucket(name)
        except Conflict:
            pass
        finally:
            client.close()


@contextmanager
def moto_s3_server(buckets: Sequence[str] = (TEST_BUCKET,)) -> Iterator[S3Server]:
    """moto's S3 API in a thread on a free 127.0.0.1 port, ``buckets`` created."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        info = S3Server(endpoint_url=f"http://{host}:{port}", bucket=buckets[0])
        for name in buckets:
            info.create_bucket(name)
        yield info
    finally:
        server.stop()


@contextmanager
def gcs_emulator(buckets: Sequence[str] = (TEST_BUCKET,)) -> Iterator[GcsServer]:
    """gcp-storage-emulator (in memory) in a thread on a free 127.0.0.1 port."""
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True)
    server._api.daemon = True  # never keep the interpreter alive
    server.start()
    try:
        port = server._api._httpd.server_address[1]
        info = GcsServer(endpoint_url=f"http://127.0.0.1:{port}", bucket=buckets[0])
        for name in buckets:
            info.create_bucket(name)
        yield info
    finally:
        server.stop()


@contextmanager
def moto_iam_auth(server: S3Server) -> Iterator[tuple[str, str]]:
    """Switch moto to checking signatures and IAM policies; yield a key allowed ``s3:*``.

    Uses moto's own ``/moto-api/reset-auth`` switch, which is process-wide: keep the block short.
    """
    import httpx

    iam = server.client("iam")
    name = f"storage-test-{uuid.uuid4().hex[:12]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    iam.put_user_policy(UserName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
    iam.close()
    httpx.post(f"{server.endpoint_url}/moto-api/reset-auth", content=b"0", timeout=10)
    try:
        yield key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        httpx.post(f"{server.endpoint_url}/moto-api/reset-auth", content=b"inf", timeout=10)


@contextmanager
def object_servers_process(
    buckets: Sequence[str] = (TEST_BUCKET,), *, timeout_s: float = 60
) -> Iterator[tuple[S3Server, GcsServer]]:
    """Both servers in a child process (``python -m ...object_servers``); stopped on exit."""
    command = [sys.executable, "-m", "media_analysis_fixtures.object_servers", *buckets]
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], timeout_s)
        line = child.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the object servers did not start in {timeout_s:.0f} s")
        data = json.loads(line)
        yield S3Server(**data["s3"]), GcsServer(**data["gcs"])
    finally:
        if child.stdin:
            child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with moto_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GcsServer]:
    with gcs_emulator() as server:
        yield server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve both until stdin closes (or SIGINT/SIGTERM); print their settings as one line."""
    buckets = list(argv if argv is not None else sys.argv[1:]) or [TEST_BUCKET]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with moto_s3_server(buckets) as s3, gcs_emulator(buckets) as gcs:
        print(
            json.dumps(
                {"s3": asdict(s3), "gcs": asdict(gcs), "s3_env": s3.env(), "gcs_env": gcs.env()}
            ),
            flush=True,
        )

        def wait_for_stdin_to_close() -> None:
            sys.stdin.read()
            stop.set()

        threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
        stop.wait()


if __name__ == "__main__":
    main()
