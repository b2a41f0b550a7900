"""The launchpad in a real browser: bad config is refused before it becomes a run.

The production webserver and code server run on PostgreSQL (``stack.py``, without the daemon:
nothing here should ever run); Debian's Chromium, driven by Playwright, types run config into
``media_analysis_job``'s launchpad as an operator would, and checks:

- a ``media_type`` outside its enum is marked as an error while typing, and Launch Run cannot be
  pressed;
- a value only the validator can judge (``frame_count: 500``, both media, none) passes the
  editor, and pressing Launch Run shows the validator's sentence instead of opening a run page;
- no run exists afterwards.

Screenshots land in the pytest tmp dir and, when ``MEDIA_ANALYSIS_TEST_ARTIFACTS`` is set,
there too (CI keeps them); their paths are printed and named in every failure message.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from media_analysis_fixtures import pg
from media_analysis_fixtures.graphql import JOB, LOCATION, runs
from media_analysis_fixtures.stack import DagsterStack, StackSettings

from .browser import DagsterUI, Screenshots, chromium, chromium_path

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
URL = "https://example.com/media/clip.mp4"
REFUSED_AT_LAUNCH = [
    ({"media_url": URL, "frame_count": 500}, "frame_count must be between 1 and 200, not 500."),
    (
        {"media_url": URL, "media_path": "/srv/media/inbox/clip.mp4", "grid_cols": 2},
        "Give exactly one of media_url or media_path, not both.",
    ),
    (
        {"prompt": "What happens?"},
        "Give exactly one of media_url or media_path; neither was given.",
    ),
]


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
def stack(
    browser_path: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterStack]:
    dagster_db = pg.create_database(pg_admin_url, prefix="ma_lp_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_lp_tables")
    try:
        settings = StackSettings(
            dagster_postgres_url=pg.with_database(pg_admin_url, dagster_db),
            database_url=pg.with_database(pg_admin_url, tables_db),
            base_dir=tmp_path_factory.mktemp("launchpad_stack"),
            daemon=False,
        )
        with DagsterStack(settings) as running:
            # Dagster's "Join the community" modal opens once per instance over any page.
            assert running.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
            yield running
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def ui(
    stack: DagsterStack, browser_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DagsterUI]:
    folders = [tmp_path_factory.mktemp("launchpad_screenshots")]
    artefacts = os.environ.get("MEDIA_ANALYSIS_TEST_ARTIFACTS")
    if artefacts:
        folders.append(Path(artefacts) / f"launchpad_screenshots-{time.strftime('%Y%m%d-%H%M%S')}")
    with (
        tempfile.TemporaryDirectory(prefix="ma-chromium-") as profile,
        chromium(Path(profile), browser_path) as context,
    ):
        page = context.new_page()
        yield DagsterUI(page, f"http://127.0.0.1:{stack.web_port}", Screenshots(folders))


def type_config(ui: DagsterUI, config: dict[str, Any]) -> None:
    """Open the launchpad and replace its config with ``config`` (one line of JSON is valid
    YAML; typing YAML key by key would fight the editor's auto-indent)."""
    page = ui.page
    ui.open(f"/locations/{LOCATION}/jobs/{JOB}/playground")
    editor = ui.wait_visible(page.locator(".CodeMirror").first, "the config editor", 60)
    editor.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(json.dumps({"ops": {"register_request": {"config": config}}}))


def launch_button(ui: DagsterUI) -> Any:
    return ui.page.get_by_role("button", name="Launch Run")


@pytest.mark.timeout(300)
def test_a_bad_media_type_is_marked_before_launch(stack: DagsterStack, ui: DagsterUI) -> None:
    type_config(ui, {"media_url": URL, "media_type": "vdieo"})
    # The errors panel lists Dagster's own message for the field (the editor holds the typed
    # text, so the value alone would match there too).
    marked = ui.page.get_by_text(re.compile(r"media_type not in enum type \w+ got vdieo"))
    ui.wait_visible(marked.first, "the media_type error in the errors panel", 30)
    expect(ui.page.get_by_text("No errors", exact=True)).to_have_count(0)
    try:
        expect(launch_button(ui)).to_be_disabled(timeout=10_000)
    except AssertionError:
        raise ui.fail("Launch Run can be pressed with a media_type outside its enum") from None
    ui.shots.take(ui.page, "launchpad-bad-media-type")
    assert runs(stack) == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("config", "sentence"), REFUSED_AT_LAUNCH, ids=["frame_count", "both", "neither"]
)
def test_a_value_only_the_validator_knows_is_refused_on_launch(
    stack: DagsterStack, ui: DagsterUI, config: dict[str, Any], sentence: str
) -> None:
    type_config(ui, config)
    ui.wait_visible(ui.page.get_by_text("No errors", exact=True), "the editor's No errors", 30)
    button = launch_button(ui)
    try:
        expect(button).to_be_enabled(timeout=30_000)
    except AssertionError:
        raise ui.fail("Launch Run stayed disabled") from None
    button.click()
    dialog = ui.page.get_by_role("dialog").filter(has_text=sentence)
    ui.wait_visible(dialog, f"the refusal {sentence!r}", 60)
    ok = ui.wait_visible(dialog.get_by_role("button", name="OK"), "the dialog's OK button", 10)
    ui.page.wait_for_timeout(400)  # the dialog fades in: let the screenshot show it whole
    ui.shots.take(ui.page, f"launchpad-refused-{sentence[:40]}")
    assert "/runs/" not in ui.page.url, "a run page opened"
    assert runs(stack) == [], "a refused launch created a run"
    ok.click()
