"""Completion callbacks from the pipeline: one signed POST per end of a request, whichever
path ends it (here: ``complete_request`` and the failure hook), to a real HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from media_analysis_dagster.callbacks import SIGNATURE_HEADER, verify
from media_analysis_fixtures import make_video

from .harness import Pipeline

SECRET = "s3cret-for-the-test"


class Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        received = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
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
    server = Receiver()
    yield server
    server.server.shutdown()


def test_completed_request_posts_one_signed_document(
    sqlite_pipeline: Pipeline, receiver: Receiver
) -> None:
    video = make_video(sqlite_pipeline.inbox / "clip.mp4", duration=3.0)
    result = sqlite_pipeline.run(media_path=str(video), frame_count=4, callback_url=receiver.url)
    assert result.success
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
    [(_headers, body)] = receiver.posts
    doc = json.loads(body)
    assert doc["status"] == "failed" and doc["request_id"] == row["request_id"]
    assert doc["error_message"] and "\n" not in doc["error_message"]
    assert doc["error_details"]["step"] == "fetch_media"
