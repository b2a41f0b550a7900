"""Keys and configuration: validated once, in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from media_analysis_dagster.storage import (
    InvalidKeyError,
    StorageConfig,
    StorageConfigError,
    artifact_key,
    check_key,
    request_prefix,
    step_prefix,
)


def test_keys_are_relative_and_stable() -> None:
    assert request_prefix("0b7c") == "requests/0b7c/"
    assert step_prefix("0b7c", "frames") == "requests/0b7c/frames/"
    assert artifact_key("0b7c", "frames", "frame 01.jpg") == "requests/0b7c/frames/frame 01.jpg"
    for bad in ["..", "a/b", "", " x", "a\\b"]:
        with pytest.raises(InvalidKeyError):
            artifact_key(bad, "frames", "f.jpg")
        with pytest.raises(InvalidKeyError):
            artifact_key("r", "frames", bad)
    assert check_key("requests/r/", prefix=True) == "requests/r/"
    with pytest.raises(InvalidKeyError):
        check_key("requests/r/")  # a trailing slash is only for prefixes


def test_config_normalises_and_validates(tmp_path: Path) -> None:
    config = StorageConfig(
        kind="R2",  # type: ignore[arg-type]
        local_root=tmp_path,
        bucket="b",
        prefix="/media-analysis",
        endpoint_url="https://acct.r2.cloudflarestorage.com/",
        public_base_url="https://cdn.example.test/",
        access_key_id="id",
        secret_access_key="very-secret",
        emulator_host="127.0.0.1:9023",
    )
    assert config.kind == "r2"
    assert config.prefix == "media-analysis/"
    assert config.endpoint_url == "https://acct.r2.cloudflarestorage.com"
    assert config.public_base_url == "https://cdn.example.test"
    assert config.emulator_host == "http://127.0.0.1:9023"
    assert "very-secret" not in repr(config)
    assert StorageConfig(kind="s3", bucket="b", prefix="").prefix == ""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "ftp"}, "The storage location 'ftp' is unknown; use one of local, s3, r2, gcs."),
        ({"kind": "s3"}, "Storage location 's3' needs a bucket (MEDIA_ANALYSIS_STORAGE_BUCKET)."),
        ({"kind": "r2", "bucket": "b"}, "Storage location 'r2' needs the account's endpoint URL"),
        ({"kind": "s3", "bucket": "b", "access_key_id": "x"}, "must be given together."),
        ({"kind": "gcs", "bucket": "b", "prefix": "a/../b"}, "must not contain '.' or '..'."),
    ],
)
def test_config_errors_are_one_sentence(fields: dict[str, object], message: str) -> None:
    with pytest.raises(StorageConfigError) as caught:
        StorageConfig(**fields)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert str(caught.value).endswith(".")
