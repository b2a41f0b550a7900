"""The analysis cache: the same file, task, prompt and provider/model reuse the earlier rows.

Real runs of the job against the wire-level fake OpenAI server; the calls it receives prove
what was (not) paid for again.
"""

from __future__ import annotations

import pytest

from media_analysis_fixtures.fake_providers import FakeProviders

from .harness import Pipeline
from .test_providers_pipeline import enable, results_by, video

PROMPT = "What is shown?"


def vision_calls(server: FakeProviders) -> int:
    """Chat calls that carried an image: the vision analyses (the summary sends none)."""
    return sum(
        1
        for r in server.requests("openai", "chat")
        if any(
            isinstance(m["content"], list)
            and any(p.get("type") == "image_url" for p in m["content"])
            for m in r.json["messages"]
        )
    )


def first_checksum(request: dict) -> str:
    return next(f["checksum"] for f in request["files"] if f["file_type"] == "original")


def test_same_file_and_prompt_reuse_results(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(monkeypatch, fake, "openai")
    path = str(video(pipeline, seconds=4.0))
    first = pipeline.request_of(pipeline.run(media_path=path, prompt=PROMPT, frame_count=6))
    assert first is not None and first["status"] == "completed", first
    (paid,) = results_by(first)["vision_analysis"]
    assert paid["cost_usd"] > 0 and vision_calls(fake) == 1
    assert paid["metadata"]["cache_key"]

    second = pipeline.request_of(pipeline.run(media_path=path, prompt=PROMPT, frame_count=6))
    assert second is not None and second["status"] == "completed", second
    assert vision_calls(fake) == 1, "the cached vision task made no call"
    (copy,) = results_by(second)["vision_analysis"]
    assert copy["cost_usd"] == 0 and copy["content"] == paid["content"]
    assert (copy["provider"], copy["model_name"]) == (paid["provider"], paid["model_name"])
    hit = copy["metadata"]["cache_hit"]
    assert (hit["request_id"], hit["result_id"]) == (first["request_id"], paid["result_id"])
    (attempt,) = [a for a in second["provider_chain"] if a["result_type"] == "vision_analysis"]
    assert attempt["status"] == "success" and attempt["cost_usd"] == 0
    assert attempt["cache_hit"]["result_id"] == paid["result_id"]
    assert not (second.get("error_details") or {}).get("provider_errors")
    found = dict(
        checksum=first_checksum(first),
        result_type="vision_analysis",
        cache_key=paid["metadata"]["cache_key"],
        providers=["openai"],
    )
    assert [r["result_id"] for r in pipeline.store.cached_results(**found, max_age_s=3600)] == [
        paid["result_id"]
    ], "copies are never a cache source: age counts from the paid call"
    assert pipeline.store.cached_results(**found, max_age_s=0) == [], "too old: a miss"
    internal = results_by(second)["scene_detection"][0]
    assert "cache_hit" not in internal["metadata"], "internal results are never cached"

    off = pipeline.request_of(
        pipeline.run(media_path=path, prompt=PROMPT, frame_count=6, use_cache=False)
    )
    assert off is not None and vision_calls(fake) == 2, "use_cache: false pays again"
    assert results_by(off)["vision_analysis"][0]["cost_usd"] > 0

    other = pipeline.request_of(pipeline.run(media_path=path, prompt="Who speaks?", frame_count=6))
    assert other is not None and vision_calls(fake) == 3, "another prompt is another answer"
    assert "cache_hit" not in results_by(other)["vision_analysis"][0]["metadata"]
