"""Drive the real Dagster UI in Debian's Chromium through Playwright (test helpers, no pytest).

Why these choices:

- Chromium is the system package (``/usr/bin/chromium``): Playwright's own browser download
  needs the network, so it is never used (``playwright install`` is never called). Playwright's
  Python wheel bundles its Node driver, so nothing else is needed.
- Every wait is bounded and, when it runs out, says what it waited for, on which URL, and where
  the screenshot of that moment is: a browser test that fails with "Timeout 30000ms" alone
  cannot be debugged from a CI log.
- Selectors are the words an operator reads (button names, status labels, metadata keys),
  not CSS classes, which change with every Dagster release.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1400, "height": 1000}
_ANY_ON_SCREEN_JS = """els => els.some(e => {
  const r = e.getBoundingClientRect();
  const visible = e.checkVisibility ? e.checkVisibility({visibilityProperty: true}) : true;
  return visible && r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
    && r.top < window.innerHeight && r.left < window.innerWidth;
})"""
TERMINAL_STATUSES = ("Success", "Failure", "Canceled")
"""The run page's status labels of a finished run (Dagster 1.13)."""


def chromium_path() -> str | None:
    """The system Chromium (Debian names it ``chromium``, others ``chromium-browser``)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium(user_data_dir: Path, executable: str) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile in ``user_data_dir`` (no state between runs)."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        try:
            yield context
        finally:
            context.close()


class Screenshots:
    """Saves screenshots into every folder given (the pytest tmp dir, and the CI artefact folder
    when there is one) and remembers where, so failure messages can name the files."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []

    def take(self, page: Page, name: str, *, full_page: bool = False) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:80]
        first = self.folders[0] / f"{len(self.saved) + 1:02d}-{slug}.png"
        page.screenshot(path=str(first), full_page=full_page)
        for folder in self.folders[1:]:
            shutil.copyfile(first, folder / first.name)
        self.saved.append(first)
        print(f"screenshot: {first}")
        return first


@dataclass
class DagsterUI:
    """One page of the Dagster UI served at ``base_url``, with the waits the tests need."""

    page: Page
    base_url: str
    shots: Screenshots

    # -- bounded waits --------------------------------------------------------------------------
    def fail(self, what: str, detail: str = "") -> AssertionError:
        """An AssertionError naming the page and a screenshot taken now."""
        shot = self.shots.take(self.page, f"failed-{what}")
        extra = f"\n{detail}" if detail else ""
        return AssertionError(f"{what} (page {self.page.url}; screenshot {shot}){extra}")

    def wait_visible(self, locator: Locator, what: str, timeout_s: float) -> Locator:
        try:
            expect(locator).to_be_visible(timeout=timeout_s * 1000)
        except AssertionError:
            raise self.fail(f"{what} not visible within {timeout_s:g} s") from None
        return locator

    def wait_on_screen(self, locator: Locator, what: str, timeout_s: float) -> Locator:
        """Wait until one of ``locator``'s matches is drawn inside the viewport: what the
        operator sees without scrolling or expanding anything. (Log rows are virtualised and
        absolutely placed, so DOM order says nothing about which match is on screen.)"""
        deadline = time.monotonic() + timeout_s
        while True:
            if locator.evaluate_all(_ANY_ON_SCREEN_JS):
                return locator
            if time.monotonic() >= deadline:
                raise self.fail(f"{what} not on screen within {timeout_s:g} s")
            self.page.wait_for_timeout(250)

    # -- navigation -----------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path, wait_until="domcontentloaded")

    def open_run(self, run_id: str, log_filter: str | None = None) -> None:
        """The run page; ``log_filter`` is what an operator types in the logs' filter box
        (e.g. ``step:fetch_media``), kept in the URL's ``logs`` parameter by the UI."""
        query = f"?logs={urllib.parse.quote(log_filter)}" if log_filter else ""
        self.open(f"/runs/{run_id}{query}")

    # -- launchpad ------------------------------------------------------------------------------
    def launch(self, location: str, job: str, run_config: Mapping[str, Any]) -> str:
        """Paste ``run_config`` into the job's launchpad, press Launch Run; the new run's id.

        The config is pasted as one line of JSON (valid YAML): typing YAML key by key would
        fight the editor's auto-indent."""
        page = self.page
        self.open(f"/locations/{location}/jobs/{job}/playground")
        editor = self.wait_visible(page.locator(".CodeMirror").first, "the config editor", 60)
        editor.click()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.insert_text(json.dumps(run_config))
        self.wait_visible(page.get_by_text("No errors", exact=True), "config without errors", 30)
        button = page.get_by_role("button", name="Launch Run")
        try:
            expect(button).to_be_enabled(timeout=30_000)
        except AssertionError:
            raise self.fail("Launch Run stayed disabled") from None
        button.click()
        try:
            page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}"), timeout=30_000)
        except Exception:
            raise self.fail("the run page did not open after Launch Run") from None
        return page.url.split("/runs/", 1)[1].split("?", 1)[0].split("/", 1)[0]

    # -- run page -------------------------------------------------------------------------------
    def wait_for_run_end(self, run_id: str, timeout_s: float, detail: str = "") -> str:
        """Open the run page and wait (live updates, no reload) until it shows a terminal
        status; returns that label."""
        self.open_run(run_id)
        pattern = re.compile(f"^({'|'.join(TERMINAL_STATUSES)})$")
        label = self.page.get_by_text(pattern).first
        started = time.monotonic()
        try:
            expect(label).to_be_visible(timeout=timeout_s * 1000)
        except AssertionError:
            raise self.fail(f"run {run_id} did not end within {timeout_s:g} s", detail) from None
        status = label.inner_text().strip()
        print(f"run {run_id}: {status} after {time.monotonic() - started:.1f} s on its page")
        return status

    def metadata_entry(self, key: str) -> Locator:
        """The metadata table row (key, value) named ``key`` among the visible events."""
        exact_key = self.page.locator("td").filter(has_text=re.compile(f"^{re.escape(key)}$"))
        return self.page.locator("tr").filter(has=exact_key)

    def open_markdown_entry(self, run_id: str, step: str, key: str) -> Locator:
        """The dialog of the ``key`` markdown metadata entry of ``step``'s events."""
        self.open_run(run_id, f"step:{step}")
        link = self.metadata_entry(key).get_by_text("[Show Markdown]")
        self.wait_visible(link, f"the {key!r} markdown entry of {step}", 60)
        link.click()
        dialog = self.page.get_by_role("dialog").filter(has_text=key)
        return self.wait_visible(dialog, f"the {key!r} dialog", 15)

    def run_tags(self) -> dict[str, str]:
        """The run's tags as the "View tags and config" dialog lists them (``key: value``)."""
        self.page.get_by_role("button", name="View tags and config").click()
        dialog = self.wait_visible(
            self.page.get_by_role("dialog").filter(has_text="Tags"), "the tags dialog", 15
        )
        self.wait_visible(dialog.get_by_text(re.compile(r"^dagster/|: ")).first, "any tag", 15)
        tags: dict[str, str] = {}
        for text in dialog.get_by_text(re.compile(r"^[\w./-]+: ")).all_inner_texts():
            key, _, value = text.partition(": ")
            tags[key.strip()] = value.strip()
        return tags


@dataclass(frozen=True)
class ImageSize:
    natural_width: int
    natural_height: int
    rendered_width: float
    rendered_height: float
    complete: bool


def image_size(image: Locator) -> ImageSize:
    """What the browser decoded (natural size) and the size it is drawn at on the page."""
    image.scroll_into_view_if_needed()
    image.evaluate("img => img.decode ? img.decode().catch(() => null) : null")
    values = image.evaluate(
        "img => { const r = img.getBoundingClientRect();"
        " return [img.naturalWidth, img.naturalHeight, r.width, r.height, img.complete]; }"
    )
    return ImageSize(int(values[0]), int(values[1]), float(values[2]), float(values[3]), values[4])
