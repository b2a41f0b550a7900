"""Every backend, against its real server: store, read back, list, presign, delete."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from media_analysis_dagster.storage import (
    ArtifactStore,
    ObjectNotFoundError,
    artifact_key,
    open_store,
    request_prefix,
)
from media_analysis_fixtures.object_servers import GcsServer, S3Server

from .conftest import backend_config


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_bytes_and_sha256(
    store: ArtifactStore, payload: tuple[Path, str], tmp_path: Path
) -> None:
    source, digest = payload
    key = artifact_key("req-1", "fetch_media", "original video.bin")
    assert store.location == store.config.kind
    assert not store.exists(key)

    stored = store.put_file(key, source, content_type="video/mp4")
    assert (stored.key, stored.size_bytes, stored.sha256) == (key, source.stat().st_size, digest)
    assert source.is_file()  # the source is left in place
    assert store.exists(key)
    info = store.stat(key)
    assert (info.size_bytes, info.sha256) == (stored.size_bytes, digest)  # kept as metadata
    if store.location != "local":
        assert info.content_type == "video/mp4"

    copy = store.get_file(key, tmp_path / "back" / "copy.bin")
    assert sha256_of(copy) == digest
    with store.open(key) as stream:
        first = stream.read(1000)
        rest = stream.read()
    assert hashlib.sha256(first + rest).hexdigest() == digest
    assert list(tmp_path.joinpath("back").iterdir()) == [copy]  # no temporary files left


def test_list_and_delete_prefix_touch_only_one_request(
    store: ArtifactStore, tmp_path: Path
) -> None:
    small = tmp_path / "small.txt"
    small.write_text("frame")
    mine = [
        artifact_key("req-a", "frames", "f1.jpg"),
        artifact_key("req-a", "frames", "f2.jpg"),
        artifact_key("req-a", "contact_sheets", "sheet_01.jpg"),
    ]
    other = artifact_key("req-ab", "frames", "f1.jpg")  # shares the characters, not the folder
    for key in [*mine, other]:
        store.put_file(key, small)

    assert store.list(request_prefix("req-a")) == sorted(mine)
    assert store.list("requests/req-a") == sorted([*mine, other])  # a partial prefix
    assert store.list("requests/req-a/frames/") == sorted(mine[:2])
    assert store.list(request_prefix("nobody")) == []

    assert store.delete_prefix("requests/req-a/frames/") == 2
    assert store.list(request_prefix("req-a")) == [mine[2]]
    assert store.delete_prefix(request_prefix("req-a")) == 1
    assert store.delete_prefix(request_prefix("req-a")) == 0
    assert store.list("requests/") == [other]
    with pytest.raises(ObjectNotFoundError, match=r"The object 'requests/req-a/frames/f1.jpg'"):
        store.get_file(mine[0], tmp_path / "gone.jpg")
    with pytest.raises(ObjectNotFoundError):
        store.open(mine[0])


def test_presigned_url_is_fetchable(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "sheet.jpg"
    source.write_bytes(b"\xff\xd8 contact sheet bytes")
    key = artifact_key("req-p", "contact_sheets", "sheet 01.jpg")
    store.put_file(key, source)
    url = store.presign(key, expires_s=300)
    if store.location == "local":
        assert Path(url).read_bytes() == source.read_bytes()
        return
    assert url.startswith("http://127.0.0.1:")
    if store.location in {"s3", "r2"}:
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.content == source.read_bytes()


@pytest.mark.parametrize("kind", ["local", "s3", "r2", "gcs"])
def test_url_is_native_or_public(
    kind: str, tmp_path: Path, s3_server: S3Server, gcs_server: GcsServer
) -> None:
    key = artifact_key("req-u", "frames", "f 1.jpg")
    root = tmp_path / "data"
    with open_store(backend_config(kind, root, s3_server, gcs_server)) as store:
        name = store.object_name(key)
        expected = {
            "local": (root / key).as_uri(),
            "gcs": f"gs://{gcs_server.bucket}/{name}",
        }.get(kind, f"s3://{s3_server.bucket}/{name}")
        assert store.url(key) == expected
        assert name == key if kind == "local" else name.endswith("/media-analysis/" + key)

    # A public base URL stands for the bucket root (the data dir for local files). Pointed at
    # the servers' own unsigned paths, the mapped URL is fetched for real.
    base = {
        "local": "https://files.example.test/media",
        "gcs": f"{gcs_server.endpoint_url}/{gcs_server.bucket}",
    }.get(kind, f"{s3_server.endpoint_url}/{s3_server.bucket}/")
    config = backend_config(kind, root, s3_server, gcs_server, public_base_url=base)
    with open_store(config) as store:
        source = tmp_path / "f.jpg"
        source.write_bytes(b"public bytes")
        stored = store.put_file(key, source)
        if kind in {"s3", "r2"}:  # what a public bucket is: anonymous reads allowed
            admin = s3_server.client()
            admin.put_object_acl(
                Bucket=s3_server.bucket, Key=store.object_name(key), ACL="public-read"
            )
            admin.close()
        assert stored.remote_url == f"{base.rstrip('/')}/{store.object_name(key)}".replace(
            " ", "%20"
        )
        if kind == "local":  # local files cannot be signed: the public URL is what there is
            assert store.presign(key) == stored.remote_url
        else:  # object stores still sign: a public base URL may front a private bucket
            assert httpx.get(stored.remote_url, timeout=10).content == b"public bytes"


def test_check_passes_on_a_working_store(store: ArtifactStore) -> None:
    store.check()
