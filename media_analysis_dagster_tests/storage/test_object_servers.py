"""The servers other tests reuse: in a child process, reachable, stopped on exit."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from media_analysis_dagster.storage import StorageUnavailableError, open_store
from media_analysis_fixtures.object_servers import object_servers_process


def test_servers_in_a_child_process(tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("from a child")
    with object_servers_process(["bucket-one", "bucket-two"]) as (s3, gcs):
        assert s3.env()["MEDIA_ANALYSIS_S3_ENDPOINT_URL"] == s3.endpoint_url
        assert gcs.env()["STORAGE_EMULATOR_HOST"] == gcs.endpoint_url
        for config in (
            s3.config(tmp_path),
            gcs.config(tmp_path),
            gcs.config(tmp_path, bucket="bucket-two"),
        ):
            with open_store(config) as store:
                store.check()
                stored = store.put_file("requests/r/x/f.txt", source)
                assert httpx.get(store.presign(stored.key), timeout=10).text == "from a child"
    with (
        open_store(s3.config(tmp_path, timeout_s=2)) as store,
        pytest.raises(StorageUnavailableError),
    ):
        store.check()  # the child is gone, and its servers with it
