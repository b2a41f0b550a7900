"""Failures come out as one sentence naming the bucket, against real servers."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from media_analysis_dagster.storage import (
    BucketNotFoundError,
    CredentialsError,
    InvalidKeyError,
    ObjectNotFoundError,
    StorageConfig,
    StorageError,
    StorageUnavailableError,
    artifact_key,
    open_store,
)
from media_analysis_fixtures.gcs_standin import refusing_google, service_account_file
from media_analysis_fixtures.object_servers import GcsServer, S3Server, moto_iam_auth

from .conftest import backend_config

CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+(?:Error|Exception)\b|Traceback")


def assert_one_sentence(exc: StorageError, bucket: str | None) -> None:
    message = str(exc)
    assert message.endswith(".") and ". " not in message, message
    assert not CLASS_NAME.search(message), message
    if bucket:
        assert f"'{bucket}'" in message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["s3", "r2", "gcs"])
def test_missing_bucket_is_named_by_every_call(
    kind: str, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> None:
    config = backend_config(kind, tmp_path, s3_server, gcs_server, bucket="no-such-bucket-here")
    endpoint = gcs_server.endpoint_url if kind == "gcs" else s3_server.endpoint_url
    expected = f"The bucket 'no-such-bucket-here' does not exist at {endpoint}."
    source = tmp_path / "f.txt"
    source.write_text("x")
    key = artifact_key("r", "frames", "f.txt")
    with open_store(config) as store:
        calls = [
            store.check,
            lambda: store.put_file(key, source),
            lambda: store.get_file(key, tmp_path / "out.txt"),
            lambda: store.open(key),
            lambda: store.exists(key),
            lambda: store.stat(key),
            lambda: store.list("requests/"),
            lambda: store.delete_prefix("requests/r/"),
        ]
        for call in calls:
            with pytest.raises(BucketNotFoundError) as caught:
                call()
            assert str(caught.value) == expected
            assert_one_sentence(caught.value, "no-such-bucket-here")


@pytest.mark.parametrize("kind", ["s3", "r2", "gcs"])
def test_missing_object_is_not_a_missing_bucket(
    kind: str, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> None:
    with open_store(backend_config(kind, tmp_path, s3_server, gcs_server)) as store:
        key = artifact_key("r", "frames", "absent.jpg")
        assert store.exists(key) is False
        for call in (lambda: store.stat(key), lambda: store.get_file(key, tmp_path / "o")):
            with pytest.raises(ObjectNotFoundError) as caught:
                call()
            assert str(caught.value) == (
                f"The object '{key}' does not exist in bucket '{store.config.bucket}'."
            )
        assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["s3", "r2"])
def test_s3_refused_credentials(kind: str, tmp_path: Path, s3_server: S3Server) -> None:
    """moto checks signatures and IAM policies once its auth is switched on."""
    source = tmp_path / "f.txt"
    source.write_text("x")
    key = artifact_key("r", "frames", "f.txt")
    with moto_iam_auth(s3_server) as (key_id, secret):
        good = s3_server.config(tmp_path, kind=kind, access_key_id=key_id, secret_access_key=secret)
        with open_store(good) as store:
            store.check()
            assert store.put_file(key, source).size_bytes == 1
        for wrong in [
            {"access_key_id": "AKIAUNKNOWNKEY000000", "secret_access_key": secret},
            {"access_key_id": key_id, "secret_access_key": "not-the-secret"},
        ]:
            with open_store(s3_server.config(tmp_path, kind=kind, **wrong)) as store:
                for call in (store.check, lambda: store.put_file(key, source)):
                    with pytest.raises(CredentialsError) as caught:
                        call()
                    assert str(caught.value) == (
                        f"The storage service refused the credentials for bucket "
                        f"'{s3_server.bucket}'."
                    )


@pytest.mark.parametrize("refuse", ["token", "api"])
def test_gcs_refused_credentials(refuse: str, tmp_path: Path) -> None:
    """The emulator accepts anything, so a 127.0.0.1 server refuses as Google does."""
    with refusing_google(refuse) as google:
        key_file = service_account_file(tmp_path, token_uri=f"{google.url}/token")
        config = StorageConfig(
            kind="gcs",
            local_root=tmp_path,
            bucket="media-analysis-test",
            endpoint_url=google.url,
            gcs_credentials_file=key_file,
            timeout_s=5,
        )
        with open_store(config) as store, pytest.raises(CredentialsError) as caught:
            store.check()
    assert str(caught.value) == (
        "The storage service refused the credentials for bucket 'media-analysis-test'."
    )
    if refuse == "api":  # the token from the key file was really sent
        assert google.seen_authorization and google.seen_authorization[0] == "Bearer tok"


def test_missing_credentials_are_reported(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing configured the libraries' own resolution finds nothing (and asks no
    metadata server: those live off this machine)."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    s3 = s3_server.config(tmp_path, access_key_id=None, secret_access_key=None)
    with open_store(s3) as store, pytest.raises(CredentialsError) as caught:
        store.check()
    assert str(caught.value) == f"No storage credentials were found for bucket '{s3.bucket}'."
    gcs = StorageConfig(kind="gcs", local_root=tmp_path, bucket="b-1")
    with pytest.raises(CredentialsError) as caught:
        open_store(gcs)
    assert str(caught.value) == "No Google Cloud credentials were found for bucket 'b-1'."


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_unreachable_endpoint_is_transient(kind: str, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    fields = {"emulator_host": endpoint} if kind == "gcs" else {"endpoint_url": endpoint}
    config = StorageConfig(
        kind=kind,  # type: ignore[arg-type]
        local_root=tmp_path,
        bucket="media-analysis-test",
        access_key_id="k" if kind == "s3" else None,
        secret_access_key="s" if kind == "s3" else None,
        timeout_s=2,
        **fields,  # type: ignore[arg-type]
    )
    with open_store(config) as store, pytest.raises(StorageUnavailableError) as caught:
        store.check()
    assert str(caught.value) == (
        f"The storage endpoint {endpoint} could not be reached for bucket 'media-analysis-test'."
    )
    assert caught.value.transient


@pytest.mark.parametrize("kind", ["local", "s3", "gcs"])
@pytest.mark.parametrize("key", ["../escape.txt", "/etc/passwd", "requests//x", "", "a\\b"])
def test_unclean_keys_are_refused(
    kind: str, key: str, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    with open_store(backend_config(kind, tmp_path / "data", s3_server, gcs_server)) as store:
        with pytest.raises(InvalidKeyError):
            store.put_file(key, source)
        with pytest.raises(InvalidKeyError):
            store.delete_prefix(key)
    assert not (tmp_path / "escape.txt").exists()
