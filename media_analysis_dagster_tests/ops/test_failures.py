"""Bad input ends ``failed`` with a readable reason, structured details and no files left; the
step's failure is that one sentence (no class name, no stack trace), and the failure path's
writes reach the asset catalog. A request that never failed has SQL NULL ``error_details``."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance

from media_analysis_dagster.db.models import MediaAnalysisRequest
from media_analysis_dagster.errors import InvalidRequestError
from media_analysis_fixtures import make_video
from media_analysis_fixtures.documents import encrypt_pdf, write_text_pdf
from media_analysis_fixtures.media_server import media_server

from .harness import Pipeline


def assert_failed_cleanly(pipeline: Pipeline, result, step: str, *words: str) -> dict:
    assert not result.success
    req = pipeline.request_of(result)
    assert req is not None and req["status"] == "failed", req
    message = req["error_message"]
    assert message and "\n" not in message and "Traceback" not in message
    for word in words:
        assert word.lower() in message.lower(), message
    details = req["error_details"]
    assert details["run_id"] == result.run_id and details["step"] == step
    assert details["error_type"] and details["message"] == message and details["hints"]
    assert req["files"] == [] and pipeline.files_on_disk(req["request_id"]) == []
    assert_step_failure_is_the_sentence(result, step, message)
    rid = req["request_id"]
    assert latest_write(pipeline.instance, "media_analysis_requests", rid)["status"] == "failed"
    assert latest_write(pipeline.instance, "media_files", rid)["rows"] == 0
    return req


# "package.module.SomeError", "SomeError:" or a traceback's "File ..." line.
_PYTHON = re.compile(r"\b\w+\.\w+\.\w+Error\b|\b[A-Z]\w*(Error|Exception|Failure)\b|File \"")


def assert_step_failure_is_the_sentence(result: Any, step: str, message: str) -> None:
    """The STEP_FAILURE event (what the UI and the run's log show) is the row's sentence alone:
    no class name, no stack, no chained exception; the details stay as metadata."""
    event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = event.event_specific_data
    assert event.step_key == step
    assert data.error.message == message and not _PYTHON.search(data.error.message), data.error
    assert data.error.stack == [] and data.error.cause is None and data.error.context is None
    metadata = data.user_failure_data.metadata
    assert metadata["message"].value == message and metadata["error_type"].value


def latest_write(instance: DagsterInstance, table: str, request_id: str) -> dict[str, Any]:
    """Metadata of the newest materialization of ``table`` recorded for ``request_id``."""
    records = instance.fetch_materializations(AssetKey(table), limit=200).records
    for record in records:  # newest first
        metadata = record.asset_materialization.metadata
        if metadata["request_id"].value == request_id:
            return {key: value.value for key, value in metadata.items()}
    raise AssertionError(f"no {table} materialization for request {request_id}")


def test_zero_byte_file(pipeline: Pipeline) -> None:
    empty = pipeline.inbox / "empty.mp4"
    empty.touch()
    result = pipeline.run(media_path=str(empty), media_type="video")
    assert_failed_cleanly(pipeline, result, "fetch_media", "empty")


def test_truncated_video(pipeline: Pipeline) -> None:
    video = make_video(pipeline.inbox / "full.mp4", duration=4.0)
    cut = pipeline.inbox / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 3])
    result = pipeline.run(media_path=str(cut), media_type="video")
    assert_failed_cleanly(pipeline, result, "fetch_media")


def test_text_renamed_to_mp4(pipeline: Pipeline) -> None:
    fake = pipeline.inbox / "movie.mp4"
    fake.write_text("this is just a text file, not a movie\n" * 20)
    result = pipeline.run(media_path=str(fake), media_type="video")
    assert_failed_cleanly(pipeline, result, "fetch_media", "text/plain")


def test_encrypted_pdf(pipeline: Pipeline) -> None:
    plain = write_text_pdf(pipeline.inbox / "plain.pdf", ["secret text"])
    locked = encrypt_pdf(
        plain, pipeline.inbox / "locked.pdf", user_password="u", owner_password="o"
    )
    result = pipeline.run(media_path=str(locked), media_type="auto")
    assert_failed_cleanly(pipeline, result, "fetch_media", "encrypted", "password")


def test_path_outside_roots_and_symlink_out(pipeline: Pipeline, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "clip.mp4"
    outside.parent.mkdir()
    make_video(outside, duration=2.0)
    result = pipeline.run(media_path=str(outside))
    assert_failed_cleanly(pipeline, result, "fetch_media", "outside")
    link = pipeline.inbox / "link.mp4"
    os.symlink(outside, link)
    result = pipeline.run(media_path=str(link))
    assert_failed_cleanly(pipeline, result, "fetch_media", "outside")
    result = pipeline.run(media_path=str(pipeline.inbox / ".." / "elsewhere" / "clip.mp4"))
    assert_failed_cleanly(pipeline, result, "fetch_media", "outside")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://169.254.169.254/latest/meta-data/", ("not a public address",)),
        ("http://[::1]:9/x.mp4", ("not a public address",)),
    ],
)
def test_forbidden_urls(pipeline: Pipeline, url: str, words: tuple[str, ...]) -> None:
    result = pipeline.run(media_url=url)
    assert_failed_cleanly(pipeline, result, "fetch_media", *words)


def test_loopback_url_is_refused_by_default(pipeline: Pipeline) -> None:
    make_video(pipeline.inbox / "v.mp4", duration=2.0)
    with media_server(pipeline.inbox) as server:
        result = pipeline.run(media_url=f"{server.url}/v.mp4")
        assert server.hits == [], "the address is checked before any connection"
    req = assert_failed_cleanly(pipeline, result, "fetch_media", "not a public address")
    # The sentence names the address, the URL's host and path, and the setting that allows it.
    assert "127.0.0.1 of 127.0.0.1/v.mp4 is loopback" in req["error_message"]
    assert "set MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS=127.0.0.1" in req["error_message"]


def test_redirect_to_private_address_and_size_limit(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loopback is allowed for the test server; the redirect target is still checked.
    monkeypatch.setenv("MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS", "127.0.0.0/8")
    make_video(pipeline.inbox / "v.mp4", duration=2.0)
    with media_server(pipeline.inbox) as server:
        server.redirects["/go"] = "http://169.254.169.254/latest/meta-data/"
        result = pipeline.run(media_url=f"{server.url}/go")
        assert_failed_cleanly(pipeline, result, "fetch_media", "169.254.169.254")
        ok = pipeline.run(media_url=f"{server.url}/v.mp4")
        assert pipeline.request_of(ok)["status"] == "completed"
        monkeypatch.setenv("MEDIA_ANALYSIS_MAX_MEDIA_BYTES", "1000")
        result = pipeline.run(media_url=f"{server.url}/v.mp4")
        assert_failed_cleanly(pipeline, result, "fetch_media", "limit")


def test_reexecution_from_failure_completes_without_duplicates(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server fails once; re-executing the failed run from failure completes the request."""
    from dagster import ReexecutionOptions

    monkeypatch.setenv("MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS", "true")
    make_video(pipeline.inbox / "v.mp4", duration=3.0)
    with media_server(pipeline.inbox) as server:
        server.fail_next["/v.mp4"] = 1
        first = pipeline.run(media_url=f"{server.url}/v.mp4")
        failed = assert_failed_cleanly(pipeline, first, "fetch_media", "500")
        again = pipeline.execute(
            reexecution_options=ReexecutionOptions.from_failure(first.run_id, pipeline.instance)
        )
    assert again.success
    req = pipeline.store.get_request(failed["request_id"])
    assert req["status"] == "completed" and req["error_message"] is None
    assert _without_error_details(pipeline, req["request_id"]), "reopened: details cleared"
    assert latest_write(pipeline.instance, "media_analysis_requests", req["request_id"])[
        "status"
    ] in ("completed", "partial")
    assert len([f for f in req["files"] if f["file_type"] == "original"]) == 1
    assert sorted(Path(f["file_path"]) for f in req["files"]) == pipeline.files_on_disk(
        req["request_id"]
    )
    types = [r["result_type"] for r in req["results"]]
    assert len(types) == len(set(types))


def test_bad_config_is_refused_at_launch_before_any_row(pipeline: Pipeline) -> None:
    """Run config that cannot be processed never becomes a run: the launch itself is refused
    with one sentence (a URL that is not http(s) is such config), and no row is written."""
    with pytest.raises(InvalidRequestError, match="exactly one"):
        pipeline.run(media_path="/a.mp4", media_url="http://example.com/b.mp4")
    with pytest.raises(InvalidRequestError, match="http") as refused:
        pipeline.run(media_url="file:///etc/passwd")
    assert "\n" not in str(refused.value) and "Error" not in str(refused.value)
    assert pipeline.store.list_requests()["total"] == 0


def _without_error_details(pipeline: Pipeline, request_id: str) -> bool:
    """n8n's test for a request without an error: ``WHERE error_details IS NULL`` (SQL NULL;
    a JSON ``null`` document would not match)."""
    query = sa.text(
        "SELECT count(*) FROM media_analysis_requests "
        "WHERE error_details IS NULL AND error_message IS NULL AND request_id = :id"
    ).bindparams(sa.bindparam("id", type_=MediaAnalysisRequest.__table__.c.request_id.type))
    with pipeline.store.engine.connect() as conn:
        return conn.execute(query, {"id": uuid.UUID(request_id)}).scalar_one() == 1


def test_a_request_that_never_failed_has_null_error_details(pipeline: Pipeline) -> None:
    video = make_video(pipeline.inbox / "fine.mp4", duration=2.0, size=(160, 120), audio=False)
    result = pipeline.run(media_path=str(video), frame_count=2)
    req = pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed", req
    assert req["error_details"] is None
    assert _without_error_details(pipeline, req["request_id"])
