"""The Dagster UI in a real browser: what an operator sees of a request launched by hand.

The three production processes run on PostgreSQL (``stack.py``, as in
``test_integration.py``); Debian's Chromium, driven by Playwright, launches two runs from the
launchpad — a generated video that succeeds and a text file named ``.mp4`` that claims to be a
video — and then checks the three things the UI owes an operator:

- the contact sheet is shown inline (the ``preview`` markdown entry of ``build_contact_sheets``)
  wide enough for its timestamps to be read;
- a failed run says why in one sentence on its page, with no stack trace to open;
- every run carries the ``media_analysis/source`` tag, launchpad runs included.

Screenshots land in the pytest tmp dir and, when ``MEDIA_ANALYSIS_TEST_ARTIFACTS`` is set,
there too (CI keeps them); their paths are printed and named in every failure message.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from media_analysis_fixtures import make_video, pg
from media_analysis_fixtures.graphql import JOB, LOCATION, runs
from media_analysis_fixtures.stack import DagsterStack, StackSettings
from media_analysis_fixtures.tables import read_requests

from .browser import DagsterUI, Screenshots, chromium, chromium_path, image_size

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RUN_DEADLINE_S = 120.0
"""Launch → terminal status on the run page: queue (5 s dequeue loop), a run worker's start
(about 8 s here) and a two-second clip's steps; measured 12-20 s on the 2-core machine."""
LEGIBLE_WIDTH_PX = 480
"""Below this the 2x3 sheet's tiles are under 240 px and their timestamps are a blur."""
SOURCE_TAG = "media_analysis/source"
REQUEST_TAG = "media_analysis/request_id"
FAILED_STEP = "fetch_media"
"""Where a file whose content is not the requested media type is refused (type is sniffed
from the content once the file is fetched, DESIGN §4)."""


@pytest.fixture(scope="module")
def browser_path() -> str:
    """The system Chromium's path; without it the tests skip (before any process starts), or
    fail in CI."""
    path = chromium_path()
    if path is None:
        message = "no system Chromium (apt-get install chromium; .ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class Launched:
    ok: str
    """Run id of the generated video's run (expected to succeed)."""
    bad: str
    """Run id of the text-file-as-video run (expected to fail)."""


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(
    browser_path: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    """Code server, webserver and daemon on two fresh databases (dropped afterwards)."""
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_ui_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_ui_tables")
    try:
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
            database_url=pg.with_database(pg_admin_url, tables_db),
            base_dir=tmp_path_factory.mktemp("ui_stack"),
        )
        started = time.monotonic()
        with DagsterStack(settings) as running:
            print(f"\nstack up in {time.monotonic() - started:.1f} s")
            # Dagster's "Join the community" modal opens once per instance, asynchronously,
            # over whatever page is loading; mark it seen as the Skip button would.
            assert running.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    folders = [tmp_path_factory.mktemp("ui_screenshots")]
    artefacts = os.environ.get("MEDIA_ANALYSIS_TEST_ARTIFACTS")
    if artefacts:
        # One folder per session: screenshots of earlier sessions are never mixed in.
        folders.append(Path(artefacts) / f"ui_screenshots-{time.strftime('%Y%m%d-%H%M%S')}")
    return Screenshots(folders)


@pytest.fixture(scope="module")
def ui(stack: DagsterStack, shots: Screenshots, browser_path: str) -> Iterator[DagsterUI]:
    with (
        tempfile.TemporaryDirectory(prefix="ma-chromium-") as profile,
        chromium(Path(profile), browser_path) as context,
    ):
        page = context.new_page()
        yield DagsterUI(page, f"http://127.0.0.1:{stack.web_port}", shots)


@pytest.fixture(scope="module")
def launched(stack: DagsterStack, ui: DagsterUI) -> Launched:
    """Both runs launched from the launchpad, one after the other (they then run together)."""
    clip = make_video(stack.inbox / "clip.mp4", duration=2.0, size=(320, 240))
    not_video = stack.inbox / "notes.mp4"
    not_video.write_text("Meeting notes: this file is text, whatever its name says.\n")

    def config(path: Path) -> dict[str, object]:
        request = {"media_path": str(path), "media_type": "video", "prompt": "What happens?"}
        return {"ops": {"register_request": {"config": request}}}

    started = time.monotonic()
    ok = ui.launch(LOCATION, JOB, config(clip))
    ui.shots.take(ui.page, "launched-video-run")
    bad = ui.launch(LOCATION, JOB, config(not_video))
    print(f"two runs launched from the launchpad in {time.monotonic() - started:.1f} s")
    return Launched(ok=ok, bad=bad)


# -- the tests ----------------------------------------------------------------------------------
@pytest.mark.timeout(300)
def test_contact_sheet_preview_is_legible(
    stack: DagsterStack, ui: DagsterUI, launched: Launched
) -> None:
    """The run succeeds, and its contact sheet is drawn in the UI at least 480 px wide."""
    status = ui.wait_for_run_end(launched.ok, RUN_DEADLINE_S, stack.describe())
    ui.shots.take(ui.page, "video-run-ended")
    if status != "Success":
        raise ui.fail(f"the video run ended {status}, not Success", stack.describe())

    dialog = ui.open_markdown_entry(launched.ok, "build_contact_sheets", "preview")
    # The markdown's base64 JPEG (the dialog's own icons are images too).
    sheet = dialog.locator("img[src^='data:image/jpeg;base64,']").first
    image = ui.wait_visible(sheet, "the contact-sheet image", 15)
    size = image_size(image)
    ui.shots.take(ui.page, "contact-sheet-preview")
    print(f"contact-sheet preview: {size}")
    if not (size.complete and size.natural_width > 0):
        raise ui.fail(f"the contact-sheet image did not load: {size}")
    if size.rendered_width < LEGIBLE_WIDTH_PX:
        raise ui.fail(
            f"the contact sheet is drawn {size.rendered_width:.0f} px wide (image "
            f"{size.natural_width}x{size.natural_height}); its timestamps need >= "
            f"{LEGIBLE_WIDTH_PX} px"
        )


@pytest.mark.timeout(300)
def test_failed_run_says_why_without_a_stack_trace(
    stack: DagsterStack, ui: DagsterUI, launched: Launched
) -> None:
    """The request's one-sentence error is on the run page as it opens, and is the failed
    step's message (with its structured details), with no stack trace to expand."""
    status = ui.wait_for_run_end(launched.bad, RUN_DEADLINE_S, stack.describe())
    if status != "Failure":
        raise ui.fail(f"the text-file run ended {status}, not Failure", stack.describe())
    [run] = [r for r in runs(stack) if r["runId"] == launched.bad]
    request_id = run["tags"][REQUEST_TAG]
    row = read_requests(stack.settings.database_url, [request_id])[request_id]
    reason = row["error_message"]
    assert row["status"] == "failed" and reason, row
    assert "video" in reason and "Traceback" not in reason, reason
    print(f"failed request {request_id}: {reason!r}")

    # The run page as it opens (it scrolls to the newest events): the reason is on screen.
    ui.open_run(launched.bad)
    shown = ui.page.get_by_text(reason)
    ui.wait_on_screen(shown, f"the reason {reason!r} on the run page", 30)
    ui.shots.take(ui.page, "failed-run-page")

    # The failed step's own event: the same sentence as its message and its metadata, on
    # screen without pressing "View full message".
    ui.open_run(launched.bad, f"step:{FAILED_STEP}")
    ui.wait_visible(ui.page.get_by_text("STEP_FAILURE").first, f"{FAILED_STEP}'s failure", 30)
    message = ui.metadata_entry("message").filter(has_text=reason)
    ui.wait_on_screen(message, f"the {FAILED_STEP} failure's message entry {reason!r}", 10)
    ui.wait_visible(ui.metadata_entry("error_type").first, "the failure's error_type entry", 5)
    ui.shots.take(ui.page, "failed-step-event")


@pytest.mark.timeout(300)
def test_launchpad_runs_carry_the_source_tag(
    stack: DagsterStack, ui: DagsterUI, launched: Launched
) -> None:
    """Both launchpad runs show ``media_analysis/source`` among their tags in the UI."""
    for name, run_id in (("video", launched.ok), ("text-file", launched.bad)):
        ui.wait_for_run_end(run_id, RUN_DEADLINE_S, stack.describe())
        tags = ui.run_tags()
        ui.shots.take(ui.page, f"{name}-run-tags")
        print(f"{name} run {run_id} tags in the UI: {tags}")
        if not tags.get(SOURCE_TAG):
            raise ui.fail(f"the {name} run has no {SOURCE_TAG} tag", f"tags shown: {tags}")
        ui.page.keyboard.press("Escape")
