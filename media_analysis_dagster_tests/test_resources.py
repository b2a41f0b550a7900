"""The resources: embedded tables on first use, file removal confined to the data dir, the
private-network allow list."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from media_analysis_dagster.resources import (
    DatabaseResource,
    FetcherResource,
    FileStorageResource,
)


def test_embedded_sqlite_tables_are_created_on_first_use(tmp_path: Path) -> None:
    store = DatabaseResource(url=f"sqlite:///{tmp_path / 'fresh.db'}").store
    assert store.list_requests()["total"] == 0


def test_postgres_tables_are_not_created_implicitly(pg_admin_url: str) -> None:
    from media_analysis_fixtures.pg import create_database, drop_database, with_database

    name = create_database(pg_admin_url)
    try:
        store = DatabaseResource(url=with_database(pg_admin_url, name)).store
        with pytest.raises(Exception, match="media_analysis_requests"):
            store.list_requests()
    finally:
        store.engine.dispose()
        drop_database(pg_admin_url, name)


def test_file_removal_stays_inside_the_data_dir(tmp_path: Path) -> None:
    files = FileStorageResource(data_dir=str(tmp_path / "data"))
    step = files.step_dir("r1", "frames")
    (step / "a.jpg").write_bytes(b"x")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"keep")
    assert not files.remove(outside) and outside.exists()
    assert not files.remove(files.root()), "the data dir itself is never removed"
    assert files.remove(step) and not step.exists()
    again = files.step_dir("r1", "frames")
    (again / "b.jpg").write_bytes(b"x")
    assert list(files.step_dir("r1", "frames").iterdir()) == [], "a step starts empty"


@pytest.mark.parametrize(
    ("setting", "allowed", "refused"),
    [
        ("127.0.0.0/8", ["127.0.0.1", "8.8.8.8"], ["10.0.0.1", "169.254.169.254"]),
        ("10.0.0.0/8, 192.168.0.0/16", ["10.1.2.3", "192.168.1.1"], ["127.0.0.1"]),
    ],
)
def test_private_network_allow_list(setting: str, allowed: list[str], refused: list[str]) -> None:
    policy = FetcherResource(allow_private_urls=setting).address_policy()
    assert policy is not None
    assert all(policy(ipaddress.ip_address(a)) for a in allowed)
    assert not any(policy(ipaddress.ip_address(a)) for a in refused)


def test_private_urls_flag_values() -> None:
    assert FetcherResource(allow_private_urls="true").limits().allow_private
    assert FetcherResource(allow_private_urls="true").address_policy() is None
    assert not FetcherResource(allow_private_urls="").limits().allow_private
    with pytest.raises(ValueError, match="MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS"):
        FetcherResource(allow_private_urls="not-a-network").address_policy()
