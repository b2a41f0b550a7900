"""The whole pipeline with artifacts in object storage: real S3 (moto's server) and GCS
(gcp-storage-emulator) HTTP APIs on 127.0.0.1, the real clients.

Rows record the location, a relative key, a URL, size and checksum; the objects' bytes match;
the run worker's scratch is empty after the run; the CLI reads and downloads from another data
directory (as another machine would); re-execution and retention leave no orphaned objects; a
missing bucket fails the row with one sentence naming it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import ReexecutionOptions

from media_analysis_dagster import cli
from media_analysis_dagster.jobs import retention_cleanup_job
from media_analysis_dagster.settings import load_settings
from media_analysis_dagster.storage import StorageConfig, open_store, request_prefix
from media_analysis_fixtures import make_audio, make_video
from media_analysis_fixtures.documents import write_text_pdf
from media_analysis_fixtures.object_servers import GcsServer, S3Server, gcs_server, s3_server  # noqa: F401
from media_analysis_fixtures.resources import resources_from_env

from ..sensor_helpers import set_times
from .harness import Pipeline

BACKENDS = ["s3", "gcs"]


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    s3_server: S3Server,  # noqa: F811
    gcs_server: GcsServer,  # noqa: F811
) -> Iterator[str]:
    server = s3_server if request.param == "s3" else gcs_server
    prefix = f"t-{request.node.name}/".replace("[", "-").replace("]", "")
    for name, value in server.env(prefix=prefix).items():
        monkeypatch.setenv(name, value)
    yield request.param


def _config() -> StorageConfig:
    return load_settings().storage.config


def _objects(request_id: str) -> dict[str, bytes]:
    with open_store(_config()) as store:
        keys = store.list(request_prefix(request_id))
        return {key: store.open(key).read() for key in keys}


def _scratch_files(pipeline: Pipeline) -> list[Path]:
    scratch = pipeline.data_dir / "scratch"
    return [p for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []


def _media(pipeline: Pipeline, kind: str) -> Path:
    if kind == "video":
        return make_video(pipeline.inbox / "clip.mp4", duration=3.0)
    if kind == "audio":
        return make_audio(pipeline.inbox / "tone.m4a", duration=3.0)
    return write_text_pdf(pipeline.inbox / "report.pdf", ["A page about storage buckets."])


@pytest.mark.parametrize("kind", ["video", "audio", "document"])
def test_pipeline_stores_every_artifact_in_the_bucket(
    sqlite_pipeline: Pipeline, backend: str, kind: str
) -> None:
    result = sqlite_pipeline.run(media_path=str(_media(sqlite_pipeline, kind)), frame_count=4)
    assert result.success
    req = sqlite_pipeline.request_of(result)
    assert req is not None and req["status"] == "completed"
    rid = req["request_id"]
    objects = _objects(rid)
    assert req["files"] and len(objects) == len(req["files"])
    for file in req["files"]:
        assert file["storage_location"] == backend
        key = file["file_path"]
        assert key.startswith(f"requests/{rid}/") and not key.startswith("/")
        assert file["remote_url"].startswith(("s3://", "gs://"))
        data = objects[key]
        assert len(data) == file["file_size_bytes"]
        assert hashlib.sha256(data).hexdigest() == file["checksum"]
    assert "original" in {f["file_type"] for f in req["files"]}
    assert _scratch_files(sqlite_pipeline) == [], "the worker keeps no copy after the run"


def test_cli_status_and_fetch_from_another_data_dir(
    sqlite_pipeline: Pipeline,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = sqlite_pipeline.run(media_path=str(_media(sqlite_pipeline, "video")), frame_count=4)
    req = sqlite_pipeline.request_of(result)
    assert req is not None and req["status"] == "completed"
    monkeypatch.setenv("MEDIA_ANALYSIS_DATA_DIR", str(tmp_path / "elsewhere"))
    assert cli.main(["status", req["request_id"], "--expires", "600", "--json"]) == 0
    status = capsys.readouterr().out
    assert status.count('"url": "http') == len(req["files"]), "a fetchable URL per file"
    out = tmp_path / "fetched"
    assert cli.main(["fetch", req["request_id"], "--type", "contact_sheet", "--out", str(out)]) == 0
    sheets = [f for f in req["files"] if f["file_type"] == "contact_sheet"]
    fetched = sorted((out / "contact_sheet").iterdir())
    assert len(fetched) == len(sheets)
    by_name = {Path(f["file_path"]).name: f["checksum"] for f in sheets}
    for path in fetched:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == by_name[path.name]


def test_reexecution_and_retention_leave_no_orphaned_objects(
    sqlite_pipeline: Pipeline, backend: str
) -> None:
    result = sqlite_pipeline.run(media_path=str(_media(sqlite_pipeline, "video")), frame_count=4)
    req = sqlite_pipeline.request_of(result)
    assert req is not None
    rid = req["request_id"]
    before = set(_objects(rid))
    again = sqlite_pipeline.execute(
        reexecution_options=ReexecutionOptions(
            parent_run_id=result.run_id, step_selection=["extract_frames", "build_contact_sheets"]
        )
    )
    assert again.success
    after = sqlite_pipeline.store.get_request(rid)
    assert after is not None
    assert set(_objects(rid)) == before == {f["file_path"] for f in after["files"]}
    assert _scratch_files(sqlite_pipeline) == []
    long_ago = datetime.now(UTC) - timedelta(days=90)
    set_times(sqlite_pipeline.store, rid, created_at=long_ago, completed_at=long_ago)
    retention = retention_cleanup_job.execute_in_process(
        run_config={"ops": {"plan_retention": {"config": {"completed_days": 30}}}},
        resources=resources_from_env(),
        instance=sqlite_pipeline.instance,
    )
    assert retention.success
    report = retention.output_for_node("delete_expired_requests")
    assert report["requests_deleted"] == 1 and report["objects_deleted"] >= len(before), report
    assert sqlite_pipeline.store.get_request(rid) is None
    assert _objects(rid) == {}


def test_a_missing_bucket_fails_the_row_naming_it(
    sqlite_pipeline: Pipeline, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_ANALYSIS_STORAGE_BUCKET", "no-such-bucket")
    result = sqlite_pipeline.run(media_path=str(_media(sqlite_pipeline, "video")))
    assert not result.success
    req = sqlite_pipeline.request_of(result)
    assert req is not None and req["status"] == "failed"
    message = req["error_message"]
    assert "no-such-bucket" in message and "\n" not in message and "Error" not in message
    assert req["error_details"]["step"] == "fetch_media"
    assert req["files"] == [] and _scratch_files(sqlite_pipeline) == []


def test_an_object_in_the_bucket_is_a_media_url(sqlite_pipeline: Pipeline, backend: str) -> None:
    """n8n uploads a file it holds with its own S3/GCS node and sends ``s3://``/``gs://``."""
    config = _config()
    clip = make_video(sqlite_pipeline.inbox / "from_n8n.mp4", duration=2.0)
    with open_store(config) as store:
        store.put_file("inbox/from_n8n.mp4", clip)
    scheme = "gs" if backend == "gcs" else "s3"
    url = f"{scheme}://{config.bucket}/{config.prefix}inbox/from_n8n.mp4"
    result = sqlite_pipeline.run(media_url=url, frame_count=2)
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed"
    [original] = [f for f in req["files"] if f["file_type"] == "original"]
    assert original["checksum"] == hashlib.sha256(clip.read_bytes()).hexdigest()

    other = sqlite_pipeline.run(media_url=f"{scheme}://someone-elses-bucket/x.mp4")
    refused = sqlite_pipeline.request_of(other)
    assert refused is not None and refused["status"] == "failed"
    assert "not in this deployment's bucket" in refused["error_message"]


def test_another_requests_artifact_is_never_an_input(
    sqlite_pipeline: Pipeline, backend: str
) -> None:
    """A request may read from the bucket only uploads under the inbox prefix: naming another
    request's original (or audio, or sheets) fails in one sentence, and nothing is read."""
    first = sqlite_pipeline.run(media_path=str(_media(sqlite_pipeline, "video")), frame_count=2)
    victim = sqlite_pipeline.request_of(first)
    assert victim is not None and victim["status"] == "completed"
    config, scheme = _config(), "gs" if backend == "gcs" else "s3"
    keys = [f["file_path"] for f in victim["files"] if f["file_type"] in ("original", "audio")]
    before = sqlite_pipeline.store.list_requests()["total"]
    for key in [*keys, "inbox/../" + keys[0]]:
        url = f"{scheme}://{config.bucket}/{config.prefix}{key}"
        result = sqlite_pipeline.run(media_url=url)
        req = sqlite_pipeline.request_of(result)
        assert req is not None and req["status"] == "failed", url
        message = req["error_message"]
        assert "\n" not in message and url in message, message
        assert req["files"] == [] and req["results"] == []
        assert _objects(req["request_id"]) == {} and _scratch_files(sqlite_pipeline) == []
    assert sqlite_pipeline.store.list_requests()["total"] == before + len(keys) + 1
