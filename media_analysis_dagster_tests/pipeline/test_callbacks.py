"""The completion callback's document and its signature (delivery: ``net/test_webhooks.py``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from media_analysis_dagster.net.webhooks import encode, sign, verify
from media_analysis_dagster.pipeline.callbacks import CallbackError, build_payload

SECRET = "s3cret-for-tests"


def payload(status: str = "completed", **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "summary": "Two people talk, then one leaves, and the lights go out.",
        "result_types": ["summary", "transcription", "summary"],
        "files": [{"file_type": "contact_sheet", "file_name": "sheet_01.jpg", "url": "s3://b/k"}],
        "api_costs": {"openai": 0.0123},
        "ui_base_url": "http://dagster.internal:3000/",
        **extra,
    }
    return build_payload(
        request_id="3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10",
        status=status,
        dagster_run_id="run-1",
        **values,
    )


# -- the document and its signature -------------------------------------------------------------
def test_payload_carries_what_a_workflow_needs() -> None:
    doc = payload()
    assert doc["status"] == "completed" and doc["event"] == "media_analysis.request.finished"
    assert doc["result_types"] == ["summary", "transcription"]
    assert doc["files"] == [
        {"file_type": "contact_sheet", "file_name": "sheet_01.jpg", "url": "s3://b/k"}
    ]
    assert doc["dagster_ui_url"] == "http://dagster.internal:3000/runs/run-1"
    assert doc["api_costs"] == {"openai": 0.0123} and doc["error_details"] is None
    failed = payload(
        "failed",
        error_message="The download failed.",
        error_details={"step": "fetch_media", "error_type": "DownloadError", "stack": "x" * 9999},
    )
    assert failed["error_details"] == {"step": "fetch_media", "error_type": "DownloadError"}
    long = payload(summary="word " * 5000)["summary"]
    assert len(long) == 4000 and long.endswith("…")
    with pytest.raises(CallbackError, match="must be one of"):
        payload("done")
    assert json.loads(encode(doc)) == doc


def test_signature_is_hmac_sha256_of_the_body() -> None:
    body = encode(payload())
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    assert verify(body, SECRET, sign(body, SECRET))
    assert not verify(body, "other", sign(body, SECRET))
    assert not verify(body + b" ", SECRET, sign(body, SECRET))
    assert not verify(body, SECRET, None)
