"""The resources: embedded tables on first use, file removal confined to the data dir, a step's
folder emptied, the private-network allow list, bucket inputs only from the inbox."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from media_analysis_dagster.resources import DatabaseResource, FetcherResource
from media_analysis_dagster.storage import StorageConfig
from media_analysis_dagster.storage.errors import StorageError
from media_analysis_dagster.storage.inbox import inbox_key
from media_analysis_dagster.storage.paths import remove
from media_analysis_fixtures.resources import resources_from_env


def _database(url: str) -> DatabaseResource:
    return DatabaseResource(url=url, pool_size=2, max_overflow=0)


def test_embedded_sqlite_tables_are_created_on_first_use(tmp_path: Path) -> None:
    store = _database(f"sqlite:///{tmp_path / 'fresh.db'}").store
    assert store.list_requests()["total"] == 0


def test_postgres_tables_are_not_created_implicitly(pg_admin_url: str) -> None:
    from media_analysis_fixtures.pg import create_database, drop_database, with_database

    name = create_database(pg_admin_url)
    try:
        store = _database(with_database(pg_admin_url, name)).store
        with pytest.raises(Exception, match="media_analysis_requests"):
            store.list_requests()
    finally:
        store.engine.dispose()
        drop_database(pg_admin_url, name)


def test_file_removal_stays_inside_the_data_dir(tmp_path: Path) -> None:
    files = resources_from_env(MEDIA_ANALYSIS_DATA_DIR=str(tmp_path / "data"))["files"]
    step = files.step_dir("r1", "frames")
    (step / "a.jpg").write_bytes(b"x")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"keep")
    assert not remove(outside, files.root()) and outside.exists()
    assert not remove(files.root(), files.root()), "the data dir itself is never removed"
    link = step / "link.jpg"
    link.symlink_to(outside)
    assert remove(link, files.root()) and outside.exists(), "a symlink goes, its target stays"
    assert remove(step, files.root()) and not step.exists()
    again = files.step_dir("r1", "frames")
    (again / "b.jpg").write_bytes(b"x")
    assert list(files.step_dir("r1", "frames").iterdir()) == [], "a step starts empty"


@pytest.mark.parametrize(
    ("setting", "allowed", "refused"),
    [
        ("127.0.0.0/8", ["127.0.0.1", "8.8.8.8"], ["10.0.0.1", "169.254.169.254"]),
        ("10.0.0.0/8, 192.168.0.0/16", ["10.1.2.3", "192.168.1.1"], ["127.0.0.1"]),
        ("true", ["127.0.0.1", "10.0.0.1", "8.8.8.8"], []),
        ("", ["8.8.8.8"], ["127.0.0.1", "10.0.0.1"]),
    ],
)
def test_private_network_allow_list(setting: str, allowed: list[str], refused: list[str]) -> None:
    fetcher = resources_from_env(MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS=setting)["fetcher"]
    allow = fetcher.allow()
    assert all(allow.permits("host", ipaddress.ip_address(a)) for a in allowed)
    assert not any(allow.permits("host", ipaddress.ip_address(a)) for a in refused)


def test_a_bad_allow_list_names_its_variable() -> None:
    fetcher = FetcherResource(
        media_roots=[],
        allow_private_urls="not a network!",
        max_download_bytes=1,
        download_timeout_s=1,
        max_redirects=0,
    )
    with pytest.raises(ValueError, match="MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"):
        fetcher.allow()


BUCKET = StorageConfig(kind="s3", bucket="media", prefix="ma/")


@pytest.mark.parametrize(
    "url",
    [
        "s3://media/ma/requests/11111111-1111-1111-1111-111111111111/original/clip.mp4",
        "s3://media/ma/inbox/../requests/x/original/clip.mp4",
        "s3://media/ma/inbox/%2E%2E/requests/x/audio/a.wav",
        "s3://media/ma/other/clip.mp4",
        "s3://media/elsewhere/inbox/clip.mp4",
        "s3://other-bucket/ma/inbox/clip.mp4",
        "gs://media/ma/inbox/clip.mp4",
        "s3://media/ma/inbox//clip.mp4",
        "s3://media/ma/inboxed/clip.mp4",
    ],
)
def test_bucket_inputs_come_only_from_the_inbox(url: str) -> None:
    with pytest.raises(StorageError) as caught:
        inbox_key(url, BUCKET, "inbox/")
    assert "\n" not in str(caught.value) and url in str(caught.value)


def test_an_upload_in_the_inbox_is_read() -> None:
    assert inbox_key("s3://media/ma/inbox/n8n/clip.mp4", BUCKET, "inbox/") == "inbox/n8n/clip.mp4"
    gcs = StorageConfig(kind="gcs", bucket="media", prefix="")
    assert inbox_key("gs://media/uploads/a.pdf", gcs, "uploads/") == "uploads/a.pdf"
