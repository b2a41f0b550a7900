"""Pure pieces: retry policy, Retry-After parsing, prices, error tree, registry, imports, and the
layout of summaries (facts, then the answer; counts in full; never a cut word)."""

from __future__ import annotations

import email.utils
import random
import re
import subprocess
import sys
import time

import pytest

from media_analysis_dagster import settings
from media_analysis_dagster.providers.base import AnalysisTask
from media_analysis_dagster.providers.chain import DEFAULT_CHAINS
from media_analysis_dagster.providers.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NotFoundError,
    PermanentProviderError,
    ProviderServerError,
    RateLimitedError,
    TransientProviderError,
    error_for_status,
)
from media_analysis_dagster.providers.internal_summary import summarize
from media_analysis_dagster.providers.pricing import Price, cost_for, is_priced
from media_analysis_dagster.providers.prompts import summary_messages
from media_analysis_dagster.providers.registry import build_providers, chain_for
from media_analysis_dagster.providers.retry import (
    backoff_delay,
    call_with_retries,
    parse_retry_after,
)
from media_analysis_fixtures.processes import ROOT


def flaky(errors):
    """A callable raising the given errors in turn, then returning 'ok'."""
    queue = list(errors)
    calls = []

    def fn():
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return "ok"

    fn.calls = calls
    return fn


def test_retries_transient_with_jittered_backoff_and_retry_after_floor():
    sleeps: list[float] = []
    fn = flaky([ProviderServerError("p", "x"), RateLimitedError("p", "slow down", retry_after=7.5)])
    assert (
        call_with_retries(fn, provider="p", sleep=sleeps.append, base_delay=1, max_delay=4) == "ok"
    )
    assert len(fn.calls) == 3
    assert 0 <= sleeps[0] <= 1 and sleeps[1] == 7.5


def test_permanent_raises_at_once_and_attempts_are_bounded():
    sleeps: list[float] = []
    fn = flaky([BadRequestError("p", "no")])
    with pytest.raises(BadRequestError):
        call_with_retries(fn, provider="p", sleep=sleeps.append)
    assert len(fn.calls) == 1 and sleeps == []

    fn = flaky([ProviderServerError("p", "x")] * 10)
    with pytest.raises(ProviderServerError):
        call_with_retries(fn, provider="p", attempts=3, sleep=sleeps.append)
    assert len(fn.calls) == 3 and len(sleeps) == 2


def test_huge_retry_after_is_not_waited_for():
    fn = flaky([RateLimitedError("p", "quota", retry_after=3600)])
    with pytest.raises(RateLimitedError):
        call_with_retries(fn, provider="p", sleep=lambda s: None, max_retry_after=60)


def test_backoff_is_capped_full_jitter():
    rng = random.Random(1)
    delays = [backoff_delay(n, base_delay=0.5, max_delay=2, rng=rng) for n in range(10)]
    assert all(0 <= d <= 2 for d in delays)
    assert backoff_delay(5, base_delay=0.5, max_delay=2, retry_after=9, rng=rng) == 9


def test_parse_retry_after_forms():
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parse_retry_after({"retry-after": future}) <= 30
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_prices_and_overrides():
    assert cost_for("openai", "gpt-4o-mini", prompt_tokens=1_000_000) == pytest.approx(0.15)
    assert cost_for("openai", "gpt-4o-mini", completion_tokens=1_000_000) == pytest.approx(0.60)
    assert cost_for("deepgram", "nova-3", audio_seconds=600) == pytest.approx(0.043)
    assert cost_for("groq", "whisper-large-v3-turbo", audio_seconds=3600) == pytest.approx(0.04)
    assert cost_for("openai", "no-such-model", prompt_tokens=10**6) == 0.0
    assert not is_priced("openai", "no-such-model") and is_priced("internal", "anything")
    overrides = {("openai", "gpt-4o-mini"): Price(1.0, 2.0), "groq/*": {"audio_per_minute": 1.0}}
    assert cost_for("openai", "gpt-4o-mini", prompt_tokens=10**6, overrides=overrides) == 1.0
    assert cost_for("groq", "any", audio_seconds=30, overrides=overrides) == 0.5


def test_error_tree_and_status_mapping():
    assert issubclass(RateLimitedError, TransientProviderError)
    assert issubclass(AuthenticationError, PermanentProviderError)
    kw = {"key_env": "GROQ_API_KEY"}
    assert isinstance(error_for_status("groq", 500, "x", **kw), ProviderServerError)
    assert isinstance(error_for_status("groq", 408, "x", **kw), ProviderServerError)
    assert isinstance(error_for_status("groq", 404, "x", **kw), NotFoundError)
    assert isinstance(error_for_status("groq", 422, "x", **kw), BadRequestError)
    assert isinstance(error_for_status("groq", 200, "x", **kw), MalformedResponseError)
    limited = error_for_status("groq", 429, "x", retry_after=2, **kw)
    assert isinstance(limited, RateLimitedError) and limited.retry_after == 2
    auth = error_for_status("groq", 403, "x", **kw)
    assert str(auth) == "GROQ_API_KEY was rejected by groq (HTTP 403); set a valid key"
    assert auth.to_dict()["error_type"] == "AuthenticationError"
    assert auth.to_dict()["transient"] is False


def test_build_providers_only_with_keys_and_chain_order():
    internal = type("Internal", (), {"name": "internal"})()
    enabled = build_providers(
        {"openai": "k1", "groq": "", "deepgram": None, "anthropic": "k2", "bogus": "k"},
        {"openai": "http://127.0.0.1:1/openai/v1"},
        models={"openai": {"summary": "gpt-4o"}},
        internal=internal,
    )
    assert set(enabled) == {"openai", "anthropic", "internal"}
    assert enabled["openai"].base_url == "http://127.0.0.1:1/openai/v1"
    assert enabled["openai"].model_for("summary") == "gpt-4o"
    assert enabled["openai"].model_for("transcription") == "whisper-1"
    names = [p.name for p in chain_for("summary", enabled)]
    assert names == ["openai", "anthropic", "internal"]
    assert [p.name for p in chain_for("summary", enabled, requested=["anthropic"])] == [
        "anthropic",
        "internal",
    ]
    assert [p.name for p in chain_for("scene_detection", enabled)] == ["internal"]
    # The offline speech-to-text of ``internal`` is the last link of the transcription chain.
    assert [p.name for p in chain_for("transcription", enabled)] == ["openai", "internal"]
    assert [p.name for p in chain_for("transcription", enabled, requested=["deepgram"])] == [
        "internal"
    ]
    custom = chain_for("summary", enabled, chains={"summary": ["anthropic", "openai"]})
    assert [p.name for p in custom] == ["anthropic", "openai"]
    assert DEFAULT_CHAINS["transcription"] == ["deepgram", "groq", "openai", "internal"]


def test_env_helpers():
    env = {"GEMINI_API_KEY": "g", "GOOGLE_BASE_URL": "http://x", "OPENAI_API_KEY": ""}
    providers = settings.load_settings(env).providers
    assert list(providers.enabled) == ["google"]  # an empty key is no key
    assert providers.base_urls["google"] == "http://x"
    assert "deepgram" not in providers.base_urls


def test_importing_providers_does_not_import_the_sdks():
    code = (
        "import sys\n"
        "import media_analysis_dagster.providers.registry, media_analysis_dagster.providers.chain\n"
        "import media_analysis_dagster.providers.openai_compat\n"
        "import media_analysis_dagster.providers.deepgram\n"
        "print(sorted(m for m in ('openai', 'deepgram', 'httpx') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_main_prints_exports():
    proc = subprocess.Popen(
        [sys.executable, "-m", "media_analysis_fixtures.fake_providers", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,  # media_analysis_fixtures is not installed: it is found from the repo root
    )
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("#"):
                break
    finally:
        proc.kill()  # a test double: nothing to shut down cleanly
        proc.wait(timeout=30)
    exports = dict(line.removeprefix("export ").split("=", 1) for line in lines[:-1])
    assert exports["OPENAI_BASE_URL"].endswith("/openai/v1")
    assert exports["GROQ_BASE_URL"].endswith("/groq/openai/v1")
    assert exports["DEEPGRAM_BASE_URL"].endswith("/deepgram")
    assert exports["GOOGLE_BASE_URL"].endswith("/google/v1beta/openai")
    assert "GEMINI_API_KEY" in exports


# -- summaries ------------------------------------------------------------------------------------
WORD = re.compile(r"w\d{5}")


def numbered_words(count: int, sentence: int = 12) -> str:
    """``count`` distinct words ``w00000``…, a full stop after every ``sentence`` of them: a cut
    word is then visible as a token that is not six characters long."""
    return " ".join(f"w{i:05d}" + ("." if (i + 1) % sentence == 0 else "") for i in range(count))


def assert_no_cut_word(text: str) -> None:
    for token in re.findall(r"w\d+", text):
        assert WORD.fullmatch(token), f"cut word {token!r} in {text[:200]!r}"


def summary_task(media_type: str, prompt: str | None, *results: dict) -> AnalysisTask:
    facts = {"file_name": "clip.bin", "mime_type": "x/y", "size_bytes": 123_456_789}
    return AnalysisTask(
        "r1", "summary", media_type, prompt=prompt, facts=facts, prior_results=tuple(results)
    )


def result(kind: str, content: str | None, data: dict | None = None, provider="internal") -> dict:
    return {"result_type": kind, "provider": provider, "content": content, "content_json": data}


def test_summary_counts_every_cut_and_never_cuts_a_word():
    cuts = [round(1.5 * i, 2) for i in range(1, 73)]
    task = summary_task(
        "video",
        "What happens? " + numbered_words(3000),  # a very long prompt
        result("scene_detection", "72 scene cut(s) at …", {"cut_times": cuts}),
        result("motion_analysis", "Mean motion 5.20", {"mean_motion": 5.2, "level": "moderate"}),
        result(
            "transcription",
            None,
            {"text": numbered_words(100_000), "language": "en", "duration": 3600.0},
        ),
        result("vision_analysis", numbered_words(20_000), provider="openai"),
        result("text_analysis", numbered_words(5000)),
    )
    text, data = summarize(task)
    paragraphs = text.split("\n\n")
    assert all(p.strip() and "\n" not in p for p in paragraphs)
    scenes = next(p for p in paragraphs if p.startswith("Scenes:"))
    assert "72 scene cuts (73 scenes); the first 20 at 0:01.5," in scenes
    assert scenes.endswith("0:30.0, and 52 more.")
    assert [p.split(" ", 1)[0].rstrip(":") for p in paragraphs[:-1]] == [
        "Metadata",
        "Scenes",
        "Motion",
        "Transcript",
        "Text",
        "Vision",
    ]
    assert paragraphs[1 + 2].startswith('Transcript (en, 1 h 0 min, 100000 words): "w00000')
    answer = paragraphs[-1]
    assert answer.startswith('Answer to "What happens? w00000') and '…": ' in answer
    assert "Scenes, Motion and Vision above" in answer
    assert_no_cut_word(text)
    assert "…" in paragraphs[3] and "…" in paragraphs[5]
    assert len(text) < 5000, len(text)
    assert data["prompt_topics_answered"] == [
        "scene_detection",
        "motion_analysis",
        "vision_analysis",
    ]


@pytest.mark.parametrize("media_type", ["video", "audio", "document"])
def test_summary_of_nothing_still_has_facts_then_answer(media_type: str):
    empty = AnalysisTask("r1", "summary", media_type, prompt="Who speaks?")
    text, _ = summarize(empty)
    first, *rest = text.split("\n\n")
    assert first == f"No facts were produced for this {media_type}."
    assert rest[-1].startswith('Answer to "Who speaks?": The offline analysis measured only')
    assert ("No AI vision provider" in text) is (media_type != "audio")
    text, _ = summarize(summary_task(media_type, None))
    assert text.startswith(f"Metadata: {media_type} clip.bin (x/y, 123.5 MB)")
    assert "Answer" not in text


def test_summary_of_every_kind_of_fact():
    frames = [{"face_count": 2, "time": 61.25}, {"face_count": 0, "time": 70.0}]
    task = summary_task(
        "video",
        "Who is in it and what do they say?",
        result(
            "metadata_extraction",
            "x",
            {
                "file_name": "talk.mp4",
                "mime_type": "video/mp4",
                "size_bytes": 2_500_000,
                "video": {
                    "duration": 285.4,
                    "display_width": 1280,
                    "display_height": 720,
                    "fps": 25.0,
                    "video_codec": "h264",
                    "audio_codec": "aac",
                },
            },
        ),
        result("face_detection", "2 frontal face(s)", {"frames": frames, "total_faces": 2}),
        result("audio_analysis", "285.40 s of audio, RMS -20.0 dBFS."),
        result("transcription", "Hello there.", {"segments": []}, provider="deepgram"),
        result("scene_detection", "No scene cuts found.", {"cut_times": []}),
    )
    text, _ = summarize(task)
    assert text.split("\n\n") == [
        "Metadata: Video talk.mp4 (video/mp4, 2.5 MB); 4 min 45 s, 1280x720 at 25 fps, h264, "
        "audio aac.",
        "Scenes: No scene cuts (one continuous shot).",
        "Faces: 2 frontal faces in 1 of 2 sampled frames, at 1:01.2.",
        "Audio: 285.40 s of audio, RMS -20.0 dBFS.",
        'Transcript (deepgram, 2 words): "Hello there."',
        'Answer to "Who is in it and what do they say?": The facts that speak to it are under '
        "Faces and Transcript above; the offline analysis measures the media and does not "
        "interpret it beyond them. No AI vision provider was used, so the picture content is "
        "not described.",
    ]


def test_paid_summary_prompt_asks_for_the_layout_and_never_cuts_a_word():
    task = summary_task(
        "audio", "List the topics.", result("transcription", numbered_words(50_000), {})
    )
    system, user = (m["content"] for m in summary_messages(task, budget_tokens=1000))
    assert "one short paragraph per kind" in system and '"Answer:"' in system
    assert "72 scene cuts" in system  # counts in full
    assert "… [truncated]" in user and len(user) < 1000 * 4 + 500
    assert_no_cut_word(user)
