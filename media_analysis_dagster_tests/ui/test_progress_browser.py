"""Progress lines in the Dagster UI, in real Chromium, while a long run is running.

The three production processes run on PostgreSQL (``stack.py``); a request whose media is a
spoken WAV trickled by a local HTTP server over ``TRICKLE_S`` seconds is launched over GraphQL,
as n8n does. Its run page, open in the browser and updating live (no reload), must show a
progress line of ``fetch_media`` while the run is still going, and later a newer one. The
screenshots (first line, later line) are kept in the pytest tmp dir and, when
``MEDIA_ANALYSIS_TEST_ARTIFACTS`` is set, there too.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance

from media_analysis_dagster.pipeline.progress import progress_lines
from media_analysis_fixtures import pg
from media_analysis_fixtures import speech as sf
from media_analysis_fixtures.graphql import launch_run, runs
from media_analysis_fixtures.media_server import TricklingServer, trickling_server
from media_analysis_fixtures.stack import DagsterStack, StackSettings

from .browser import DagsterUI, Screenshots, chromium, chromium_path

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TRICKLE_S = 45.0
"""How long the download of the media takes: long enough for a run worker to start (about 8 s
here), the page to open and several progress lines (one every 5 s) to arrive during it."""
LINE = re.compile(r"^progress: ")
SEEN_DEADLINE_S = 90.0
RUN_DEADLINE_S = 240.0


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = chromium_path()
    if path is None:
        message = "no system Chromium (apt-get install chromium; .ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TricklingServer]:
    """A spoken WAV of about a minute, served at ``/slow/talk.wav`` over ``TRICKLE_S`` s."""
    sf.require_espeak()
    folder = tmp_path_factory.mktemp("served")
    sf.make_long_wav(folder / "talk.wav", sf.SENTENCES, 1.0)
    with trickling_server(folder, TRICKLE_S, steps=90) as server:
        yield server


@pytest.fixture(scope="module")
def stack(
    browser_path: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_progress_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_progress_tables")
    try:
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
            database_url=pg.with_database(pg_admin_url, tables_db),
            base_dir=tmp_path_factory.mktemp("progress_stack"),
            env={"MEDIA_ANALYSIS_ALLOW_PRIVATE_URLS": "127.0.0.1"},
        )
        with DagsterStack(settings) as running:
            assert running.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    folders = [tmp_path_factory.mktemp("progress_screenshots")]
    artefacts = os.environ.get("MEDIA_ANALYSIS_TEST_ARTIFACTS")
    if artefacts:
        folders.append(Path(artefacts) / f"progress_screenshots-{time.strftime('%Y%m%d-%H%M%S')}")
    return Screenshots(folders)


@pytest.fixture(scope="module")
def ui(stack: DagsterStack, shots: Screenshots, browser_path: str) -> Iterator[DagsterUI]:
    with (
        tempfile.TemporaryDirectory(prefix="ma-chromium-") as profile,
        chromium(Path(profile), browser_path) as context,
    ):
        yield DagsterUI(context.new_page(), f"http://127.0.0.1:{stack.web_port}", shots)


def run_status(stack: DagsterStack, run_id: str) -> str:
    [run] = [r for r in runs(stack) if r["runId"] == run_id]
    return str(run["status"])


def progress_texts(ui: DagsterUI) -> list[str]:
    """The progress lines drawn on the run page now."""
    return [t.strip() for t in ui.page.get_by_text(LINE).all_inner_texts()]


@pytest.mark.timeout(600)
def test_a_long_run_shows_progress_lines_while_it_runs(
    stack: DagsterStack,
    ui: DagsterUI,
    served: TricklingServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {
        "media_url": served.url("slow", "talk.wav"),
        "media_type": "audio",
        "prompt": "What is said?",
    }
    run_id = launch_run(stack, config, {"media_analysis/source": "test"})
    ui.open_run(run_id, "step:fetch_media")

    deadline = time.monotonic() + SEEN_DEADLINE_S
    first: list[str] = []
    while not first:
        first = progress_texts(ui)
        if time.monotonic() > deadline:
            raise ui.fail("no progress line on the run page", stack.describe())
        ui.page.wait_for_timeout(500)
    status_at_first = run_status(stack, run_id)
    ui.wait_on_screen(ui.page.get_by_text(first[-1]), f"the line {first[-1]!r}", 10)
    ui.shots.take(ui.page, "progress-first-line")
    assert status_at_first in {"STARTING", "STARTED"}, status_at_first
    assert re.search(r"fetched [\d.]+ MB \(limit \d+ MB\), \d+ s so far$", first[-1]), first

    later: list[str] = []
    deadline = time.monotonic() + 30
    while not later:  # the page updates live: a newer line arrives without a reload
        later = [t for t in progress_texts(ui) if t not in first]
        if time.monotonic() > deadline:
            raise ui.fail(f"no progress line after {first!r}", stack.describe())
        ui.page.wait_for_timeout(500)
    status_at_later = run_status(stack, run_id)
    ui.wait_on_screen(ui.page.get_by_text(later[-1]), f"the line {later[-1]!r}", 10)
    ui.shots.take(ui.page, "progress-later-line")
    print(f"progress lines seen: {first[-1]!r}, later {later[-1]!r}")
    assert status_at_later in {"STARTING", "STARTED"}, status_at_later
    seconds = [int(re.findall(r"(\d+) s so far", t)[-1]) for t in (first[-1], later[-1])]
    assert seconds[1] > seconds[0], (first, later)

    status = ui.wait_for_run_end(run_id, RUN_DEADLINE_S, stack.describe())
    ui.shots.take(ui.page, "progress-run-ended")
    assert status == "Success", stack.describe()

    # What `media-analysis submit --wait` prints: the same lines, read from the instance's
    # PostgreSQL event log, oldest first and named by step.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", stack.settings.dagster_postgres_url)
    with DagsterInstance.from_config(str(stack.home)) as instance:
        read = [text for _, text in progress_lines(instance, run_id)]
    shown = {f"fetch_media: {line.removeprefix('progress: ')}" for line in first + later}
    assert shown <= set(read), (shown, read)
    assert any(text.startswith("analyze[transcription]: ") for text in read), read
