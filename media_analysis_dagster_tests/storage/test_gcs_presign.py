"""GCS presigned URLs: V4-signed with a service-account key; the emulator's URL without one."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from media_analysis_dagster.storage import StorageConfig, StorageConfigError, open_store
from media_analysis_fixtures.gcs_standin import authorized_user_file, service_account_file
from media_analysis_fixtures.object_servers import GcsServer


def test_signed_with_a_service_account_key(tmp_path: Path, gcs_server: GcsServer) -> None:
    """Signing is local (RSA with the key file); the emulator serves the signed path."""
    key_file = service_account_file(tmp_path)
    config = gcs_server.config(tmp_path, gcs_credentials_file=key_file)
    source = tmp_path / "sheet.jpg"
    source.write_bytes(b"signed bytes")
    with open_store(config) as store:
        store.put_file("requests/r/contact_sheets/sheet.jpg", source)
        url = store.presign("requests/r/contact_sheets/sheet.jpg", expires_s=600)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}" == gcs_server.endpoint_url
    assert parts.path == f"/{gcs_server.bucket}/media-analysis/requests/r/contact_sheets/sheet.jpg"
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["600"]
    assert query["X-Goog-Credential"][0].startswith("artifacts@media-analysis-test.iam")
    assert len(query["X-Goog-Signature"][0]) == 512  # hex of a 2048-bit RSA signature
    assert httpx.get(url, timeout=10).content == b"signed bytes"


def test_emulator_without_a_key_gives_its_download_url(
    tmp_path: Path, gcs_server: GcsServer
) -> None:
    source = tmp_path / "a b.txt"
    source.write_bytes(b"plain")
    with open_store(gcs_server.config(tmp_path)) as store:
        store.put_file("requests/r/x/a b.txt", source)
        url = store.presign("requests/r/x/a b.txt")
    assert url == (
        f"{gcs_server.endpoint_url}/{gcs_server.bucket}/media-analysis/requests/r/x/a%20b.txt"
    )
    assert httpx.get(url, timeout=10).content == b"plain"


def test_credentials_that_cannot_sign_are_named(tmp_path: Path) -> None:
    config = StorageConfig(
        kind="gcs",
        local_root=tmp_path,
        bucket="media-analysis-test",
        gcs_credentials_file=authorized_user_file(tmp_path),
        gcs_project="p",
    )
    with open_store(config) as store, pytest.raises(StorageConfigError) as caught:
        store.presign("requests/r/x/f.jpg")
    assert str(caught.value) == (
        "Presigned URLs for bucket 'media-analysis-test' need a service-account key "
        "(GOOGLE_APPLICATION_CREDENTIALS) that can sign."
    )


def test_unreadable_credentials_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "creds.json"
    bad.write_text('{"type": "nonsense"}')
    for path, reason in [(bad, "is not a credentials file"), (tmp_path / "no.json", "does not")]:
        config = StorageConfig(
            kind="gcs", local_root=tmp_path, bucket="b-1", gcs_credentials_file=path
        )
        with pytest.raises(StorageConfigError, match=reason):
            open_store(config)
