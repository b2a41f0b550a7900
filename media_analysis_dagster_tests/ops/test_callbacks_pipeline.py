"""Completion callbacks from the pipeline: one signed POST per end of a request, whichever
path ends it (here: ``complete_request`` and the failure hook), to a real HTTP receiver. Ending a
request only queues the callback; ``callback_delivery_sensor`` delivers it, so a receiver that
hangs delays no run and no other receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dagster import SkipReason, build_sensor_context

from media_analysis_dagster.net.webhooks import SIGNATURE_HEADER, verify
from media_analysis_fixtures import make_video
from media_analysis_fixtures.resources import resources_from_env

from ..sensor_helpers import sensor_named
from .harness import Pipeline

SECRET = "s3cret-for-the-test"


class Receiver:
    """Records the POSTs it answers; while ``hanging`` is set it answers nothing (the sender's
    deadline passes first) and records nothing."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.hanging = threading.Event()
        received, hanging = self.posts, self.hanging

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if hanging.is_set():
                    time.sleep(5)
                    return
                received.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("MEDIA_ANALYSIS_CALLBACK_ALLOW", "127.0.0.0/8")
    monkeypatch.setenv("MEDIA_ANALYSIS_CALLBACK_SECRET", SECRET)
    monkeypatch.setenv("MEDIA_ANALYSIS_CALLBACK_TIMEOUT_S", "1")
    server = Receiver()
    yield server
    server.hanging.clear()
    server.server.shutdown()


def deliver(pipeline: Pipeline) -> str:
    """One tick of ``callback_delivery_sensor``, as the daemon runs it; its skip message."""
    resources = resources_from_env(MEDIA_ANALYSIS_DATABASE_URL=str(pipeline.store.engine.url))
    with build_sensor_context(instance=pipeline.instance, resources=resources) as context:
        result = sensor_named("callback_delivery_sensor")(context)
    assert isinstance(result, SkipReason)
    return result.skip_message or ""


def test_completed_request_posts_one_signed_document(
    sqlite_pipeline: Pipeline, receiver: Receiver
) -> None:
    video = make_video(sqlite_pipeline.inbox / "clip.mp4", duration=3.0)
    result = sqlite_pipeline.run(media_path=str(video), frame_count=4, callback_url=receiver.url)
    assert result.success
    assert receiver.posts == [], "ending the request only queues the callback"
    assert "1 delivered" in deliver(sqlite_pipeline)
    assert "nothing due" in deliver(sqlite_pipeline), "delivered once"
    [(headers, body)] = receiver.posts
    assert verify(body, SECRET, headers.get(SIGNATURE_HEADER))
    assert not verify(body, "another secret", headers.get(SIGNATURE_HEADER))
    doc = json.loads(body)
    req = sqlite_pipeline.request_of(result)
    assert req is not None
    assert doc["request_id"] == req["request_id"] and doc["status"] == "completed"
    assert doc["dagster_run_id"] == result.run_id and doc["summary"]
    assert "scene_detection" in doc["result_types"]
    assert {f["file_type"] for f in doc["files"]} >= {"original", "frame", "contact_sheet"}
    assert all(f["url"] for f in doc["files"])


def test_failed_request_posts_its_reason(sqlite_pipeline: Pipeline, receiver: Receiver) -> None:
    fake = sqlite_pipeline.inbox / "notes.mp4"
    fake.write_text("not a video at all\n" * 20)
    row = sqlite_pipeline.store.create_request(
        media_type="video", media_path=str(fake), user_metadata={"callback_url": receiver.url}
    )
    result = sqlite_pipeline.run(request_id=row["request_id"])
    assert not result.success
    deliver(sqlite_pipeline)
    [(_headers, body)] = receiver.posts
    doc = json.loads(body)
    assert doc["status"] == "failed" and doc["request_id"] == row["request_id"]
    assert doc["error_message"] and "\n" not in doc["error_message"]
    assert doc["error_details"]["step"] == "fetch_media"


def test_a_hanging_receiver_delays_nothing_and_still_gets_its_callback(
    sqlite_pipeline: Pipeline, receiver: Receiver
) -> None:
    slow, quick = receiver, Receiver()
    try:
        slow.hanging.set()
        started = time.monotonic()
        first = sqlite_pipeline.run(
            media_path=str(make_video(sqlite_pipeline.inbox / "a.mp4", duration=2.0)),
            frame_count=2,
            callback_url=slow.url,
        )
        second = sqlite_pipeline.run(
            media_path=str(make_video(sqlite_pipeline.inbox / "b.mp4", duration=2.0)),
            frame_count=2,
            callback_url=quick.url,
        )
        both = time.monotonic() - started
        assert first.success and second.success
        ticked = time.monotonic()
        message = deliver(sqlite_pipeline)
        tick_s = time.monotonic() - ticked
        assert "1 delivered" in message and "1 retrying" in message, message
        assert len(quick.posts) == 1 and slow.posts == []
        assert tick_s < 4.0, f"the tick waited {tick_s:.1f} s on a hanging receiver"
        assert both < 120, both
        slow.hanging.clear()
        deadline = time.monotonic() + 30
        while not slow.posts and time.monotonic() < deadline:
            time.sleep(0.5)
            deliver(sqlite_pipeline)
        [(headers, body)] = slow.posts
        doc = json.loads(body)
        assert doc["status"] == "completed" and verify(body, SECRET, headers[SIGNATURE_HEADER])
        request = sqlite_pipeline.request_of(first)
        assert request is not None and doc["request_id"] == request["request_id"]
        [queued] = sqlite_pipeline.store.callbacks_of(request["request_id"])
        assert queued["status"] == "delivered" and queued["attempts"] >= 2
        assert len(quick.posts) == 1, "the other callback was not sent again"
    finally:
        quick.server.shutdown()
