"""The job with real provider SDKs against the wire-level fake server on 127.0.0.1."""

from __future__ import annotations

import base64
import itertools
import json
import time

import pytest
from sqlalchemy import text

from media_analysis_dagster.providers.pricing import cost_for
from media_analysis_fixtures import make_video
from media_analysis_fixtures.fake_providers import FakeProviders, FakeResponse

from .harness import Pipeline

KEYS = {"openai": "OPENAI_API_KEY", "deepgram": "DEEPGRAM_API_KEY", "groq": "GROQ_API_KEY"}
SECRET = "sk-fake-SECRET-4242424242"


def enable(monkeypatch: pytest.MonkeyPatch, fake: FakeProviders, *providers: str) -> None:
    for name in providers:
        monkeypatch.setenv(KEYS[name], SECRET)
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", fake.base_url(name))


def video(pipeline: Pipeline, seconds: float = 6.0):
    return make_video(pipeline.inbox / "talk.mp4", duration=seconds, size=(320, 240))


def results_by(req: dict, key: str = "result_type") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in req["results"]:
        out.setdefault(r[key], []).append(r)
    return out


def test_openai_and_deepgram(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(monkeypatch, fake, "openai", "deepgram")
    result = pipeline.run(
        media_path=str(video(pipeline)),
        prompt="What is shown?",
        provider_options={"diarize": True, "detect_language": True},
    )
    req = pipeline.request_of(result)
    assert result.success and req["status"] == "completed", req
    by = results_by(req)
    (vision,) = by["vision_analysis"]
    (transcript,) = by["transcription"]
    (summary,) = by["summary"]
    assert (vision["provider"], transcript["provider"], summary["provider"]) == (
        "openai",
        "deepgram",
        "openai",
    )

    chat = fake.requests("openai", "chat")
    vision_call = next(
        r
        for r in chat
        if any(
            p.get("type") == "image_url"
            for m in r.json["messages"]
            for p in (m["content"] if isinstance(m["content"], list) else [])
        )
    )
    assert vision_call.json["model"] == vision["model_name"]
    images = [
        p["image_url"]["url"]
        for m in vision_call.json["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p.get("type") == "image_url"
    ]
    assert images and all(u.startswith("data:image/jpeg;base64,") for u in images)
    assert base64.b64decode(images[0].split(",", 1)[1])[:2] == b"\xff\xd8"
    assert vision_call.headers["authorization"] == f"Bearer {SECRET}"
    usage = vision["content_json"]["usage"] if "usage" in (vision["content_json"] or {}) else None
    assert vision["token_count"] and vision["token_count"] > 0
    if usage:
        assert vision["cost_usd"] == pytest.approx(
            cost_for(
                "openai",
                vision["model_name"],
                prompt_tokens=usage["prompt_tokens"],
                completion_tokens=usage["completion_tokens"],
            ),
            abs=1e-6,
        )
    assert vision["cost_usd"] > 0

    (listen,) = fake.requests("deepgram", "listen")
    assert listen.query["model"] == transcript["model_name"]
    for option in ("smart_format", "utterances", "paragraphs", "diarize", "detect_language"):
        assert listen.query.get(option) == "true"
    assert listen.headers["authorization"] == f"Token {SECRET}"
    wav = next(f for f in req["files"] if f["file_type"] == "audio")
    assert listen.body_size == wav["file_size_bytes"]
    words = transcript["content_json"]["words"]
    assert words and {"word", "start", "end"} <= set(words[0])
    assert transcript["cost_usd"] == pytest.approx(
        cost_for(
            "deepgram",
            transcript["model_name"],
            audio_seconds=transcript["content_json"]["duration"],
        ),
        abs=1e-6,
    )

    summary_call = chat[-1]
    assert "vision" in json.dumps(summary_call.json["messages"]).lower()
    chain = req["provider_chain"]
    assert {(a["provider"], a["result_type"], a["status"]) for a in chain} >= {
        ("openai", "vision_analysis", "success"),
        ("deepgram", "transcription", "success"),
        ("openai", "summary", "success"),
        ("internal", "scene_detection", "success"),
    }
    costs = req["api_costs"]
    assert costs["openai"] == pytest.approx(vision["cost_usd"] + summary["cost_usd"], abs=1e-6)
    assert costs["deepgram"] == pytest.approx(transcript["cost_usd"], abs=1e-6)
    assert costs["total"] == pytest.approx(costs["openai"] + costs["deepgram"], abs=1e-6)
    assert costs["internal"] == 0.0


def test_transcription_falls_back_from_deepgram_to_groq(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(monkeypatch, fake, "deepgram", "groq")
    fake.script("deepgram", "listen", [500, 500, 500, 500])
    req = pipeline.request_of(pipeline.run(media_path=str(video(pipeline))))
    assert req["status"] == "completed"
    (transcript,) = results_by(req)["transcription"]
    assert transcript["provider"] == "groq"
    attempts = [a for a in req["provider_chain"] if a["result_type"] == "transcription"]
    assert [(a["provider"], a["status"]) for a in attempts] == [
        ("deepgram", "error"),
        ("groq", "success"),
    ]
    assert attempts[0]["retries"] == 3 and len(fake.requests("deepgram")) == 4
    assert req["error_details"]["provider_errors"][0]["provider"] == "deepgram"


def test_rate_limit_retry_after_is_honoured(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(monkeypatch, fake, "openai")
    fake.script("openai", "chat", [FakeResponse.error(429, retry_after=1)])
    req = pipeline.request_of(pipeline.run(media_path=str(video(pipeline)), frame_count=2))
    assert results_by(req)["vision_analysis"][0]["provider"] == "openai"
    first, second = fake.requests("openai", "chat")[:2]
    assert second.at - first.at >= 1.0


def test_rejected_key_fails_fast_with_its_name(
    monkeypatch: pytest.MonkeyPatch, pipeline: Pipeline
) -> None:
    with FakeProviders(valid_keys={"openai": "the-right-key"}) as fake:
        enable(monkeypatch, fake, "openai")
        result = pipeline.run(media_path=str(video(pipeline)))
        req = pipeline.request_of(result)
        assert len(fake.requests("openai", "chat")) == 2  # vision + summary, no retries
    assert req["status"] == "completed", "internal results still complete the request"
    errors = req["error_details"]["provider_errors"]
    assert errors and all("OPENAI_API_KEY" in e["error"] for e in errors)
    assert results_by(req)["summary"][0]["provider"] == "internal"
    assert SECRET not in json.dumps(req)


def test_provider_tasks_run_concurrently(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three contact sheets + one transcript = four provider tasks at 1 s latency each."""
    enable(monkeypatch, fake, "openai", "deepgram")
    fake.set_latency("openai", 1.0)
    fake.set_latency("deepgram", 1.0)
    result = pipeline.run(media_path=str(video(pipeline)), frame_count=18)
    starts, ends = {}, {}
    for record in pipeline.instance.get_records_for_run(result.run_id, limit=10_000).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event and event.step_key and event.step_key.startswith("analyze["):
            if event.event_type_value == "STEP_START":
                starts[event.step_key] = entry.timestamp
            if event.event_type_value == "STEP_SUCCESS":
                ends[event.step_key] = entry.timestamp
    provider_steps = {
        "analyze[vision_analysis_1]",
        "analyze[vision_analysis_2]",
        "analyze[vision_analysis_3]",
        "analyze[transcription]",
    }
    assert provider_steps <= set(ends), sorted(ends)
    # Each step waits 1 s for its provider: run one after another they could not all be
    # running at one moment; run concurrently, the last start comes before the first end.
    last_start = max(starts[k] for k in provider_steps)
    first_end = min(ends[k] for k in provider_steps)
    assert last_start < first_end, (
        f"the steps ran one after another ({last_start - first_end:.2f}s)"
    )
    vision_calls = sorted(r.at for r in fake.requests("openai", "chat"))[:3]
    assert vision_calls[-1] - vision_calls[0] < 0.9, "without a pool limit the calls overlap"
    assert pipeline.request_of(result)["status"] == "completed"


def test_budget_cap_stops_paid_calls(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cap below the most any call may cost: every paid call is skipped before it is made
    (nothing is spent past the cap) and the internal provider answers the summary."""
    enable(monkeypatch, fake, "openai")
    monkeypatch.setenv("MEDIA_ANALYSIS_BUDGET_USD", "0.0000001")
    silent = make_video(pipeline.inbox / "silent.mp4", duration=4.0, audio=False)
    req = pipeline.request_of(pipeline.run(media_path=str(silent), frame_count=2))
    assert req["status"] == "completed"
    skipped = [a for a in req["provider_chain"] if a["status"] == "skipped"]
    assert {a["result_type"] for a in skipped} == {"vision_analysis", "summary"}
    assert all("budget cap" in a["error"] and a["estimate_usd"] > 1e-7 for a in skipped)
    assert fake.requests("openai", "chat") == []
    assert results_by(req)["summary"][0]["provider"] == "internal"
    assert req["api_costs"]["total"] == 0
    assert any("budget" in e["error"] for e in req["error_details"]["provider_errors"])


def test_keys_never_reach_logs_tags_config_or_tables(
    pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable(monkeypatch, fake, "openai", "deepgram", "groq")
    fake.script("deepgram", "listen", [401])
    result = pipeline.run(media_path=str(video(pipeline)), prompt="Summarise.")
    assert result.success
    run = pipeline.instance.get_run_by_id(result.run_id)
    assert SECRET not in json.dumps(run.tags) + json.dumps(run.run_config, default=str)
    records = pipeline.instance.get_records_for_run(result.run_id).records
    assert records and all(SECRET not in json.dumps(r.event_log_entry.to_json()) for r in records)
    with pipeline.store.engine.connect() as conn:
        for table in (
            "media_analysis_requests",
            "media_analysis_results",
            "media_files",
            "contact_sheets",
        ):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            assert SECRET not in json.dumps([list(map(str, r)) for r in rows])


def test_without_keys_only_internal_runs(pipeline: Pipeline) -> None:
    req = pipeline.request_of(pipeline.run(media_path=str(video(pipeline, 3.0))))
    assert req["status"] == "completed"
    assert {r["provider"] for r in req["results"]} == {"internal"}
    assert time.time() > 0


def test_provider_calls_hold_a_slot_of_the_provider_pool(
    monkeypatch: pytest.MonkeyPatch, tmp_path, db_url: str
) -> None:
    """With ``pools: default_limit: 1`` the three vision calls to openai run one at a time."""
    from dagster import instance_for_test

    from .harness import make_pipeline

    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with FakeProviders() as fake, instance_for_test(overrides=overrides) as instance:
        pipeline = make_pipeline(monkeypatch, tmp_path, db_url, instance)
        enable(monkeypatch, fake, "openai")
        fake.set_latency("openai", 0.5)
        silent = make_video(pipeline.inbox / "silent.mp4", duration=4.0, audio=False)
        req = pipeline.request_of(pipeline.run(media_path=str(silent), frame_count=18))
        calls = sorted(r.at for r in fake.requests("openai", "chat"))
        info = instance.event_log_storage.get_concurrency_info("openai")
        assert not info.claimed_slots, "every slot is given back"
    assert req["status"] == "completed" and len(calls) == 4  # 3 sheets + summary
    assert all(b - a >= 0.45 for a, b in itertools.pairwise(calls))


def test_absurd_usage_counts_are_stored_bounded(
    sqlite_pipeline: Pipeline, fake: FakeProviders, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider that reports 10^30 tokens: every number headed for the tables fits its column
    (``db/bounds.py``), so the request completes instead of failing with ``integer out of
    range``."""
    from media_analysis_fixtures.fake_providers import responses

    enable(monkeypatch, fake, "openai")
    monkeypatch.setenv("MEDIA_ANALYSIS_WHISPER_MODEL", "off")
    absurd = responses.chat_completion("openai", {"model": "gpt-4o-mini"}, 1)
    absurd["usage"] = {
        "prompt_tokens": 10**30,
        "completion_tokens": 10**30,
        "total_tokens": 2 * 10**30,
    }
    fake.script("openai", "chat", [FakeResponse(body=absurd)] * 8)
    result = sqlite_pipeline.run(media_path=str(video(sqlite_pipeline, 3.0)), frame_count=2)
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed", req
    paid = [r for r in req["results"] if r["provider"] == "openai"]
    counts = [r["token_count"] for r in paid if r["result_type"] != "transcription"]
    assert counts and all(c == 2**31 - 1 for c in counts), counts
    assert all(r["cost_usd"] is None or r["cost_usd"] <= 10**4 for r in paid)


@pytest.mark.parametrize("mode", ["trickle", "endless"])
def test_a_stretching_provider_ends_the_row_within_deadline_times_attempts(
    sqlite_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A provider that trickles its answer a byte at a time (every read in time) or streams
    without end is cut at ``MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S`` per call: the request still ends,
    within the calls' deadlines times attempts, with the offline summary."""
    from media_analysis_fixtures.stretching_server import stretching_server

    deadline, attempts = 1.5, 2
    monkeypatch.setenv("MEDIA_ANALYSIS_PROVIDER_TIMEOUT_S", str(deadline))
    monkeypatch.setenv("MEDIA_ANALYSIS_PROVIDER_RETRIES", str(attempts - 1))
    monkeypatch.setenv("MEDIA_ANALYSIS_PROVIDER_RETRY_DELAY_S", "0.05")
    monkeypatch.setenv("MEDIA_ANALYSIS_WHISPER_MODEL", "off")
    with stretching_server() as url:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", f"{url}/{mode}/v1")
        clip = make_video(sqlite_pipeline.inbox / "stretch.mp4", duration=2.0, size=(160, 120))
        started = time.monotonic()
        result = sqlite_pipeline.run(media_path=str(clip), frame_count=2)
        elapsed = time.monotonic() - started
    req = sqlite_pipeline.request_of(result)
    assert result.success and req is not None and req["status"] == "completed", req
    calls = [a for a in req["provider_chain"] if a["provider"] == "openai"]
    assert calls and all(a["status"] == "error" for a in calls), calls
    assert all(a["ms"] <= attempts * deadline * 1000 + 1500 for a in calls), calls
    summary = [r for r in req["results"] if r["result_type"] == "summary"]
    assert [r["provider"] for r in summary] == ["internal"]
    # vision (one call chain) then the summary chain, each at most deadline times attempts
    assert elapsed < 2 * attempts * deadline + 45, elapsed
