"""One real browser run: every page of every role in headless Chromium, no error on screen.

Starts `streamlit run streamlit_app.py` on a free 127.0.0.1 port against the fixture store,
opens each page through its URL (`/<url_path>?role=<role>`), waits for the script to
finish and the map canvas to exist, fails on any Streamlit exception or error alert, and
saves one screenshot per page. Requests to anywhere but 127.0.0.1 are blocked and fail the
test: the dashboard must work offline (no basemap, no web fonts, no icons from a CDN).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from observatory.settings import REPO_ROOT, STORE_ENV
from observatory.ui.navigation import ROLE_PAGES
from tests.streamlit_server import free_port, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ERRORS_ON_SCREEN = '[data-testid="stException"], [data-testid="stAlertContentError"]'
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
MAP_CANVAS = '[data-testid="stDeckGlJsonChart"] canvas'
START_TIMEOUT_S = 60
HEADINGS = {"overview": "Overview", "compare": "Compare areas", "data-health": "Data health",
            "portal": "Neighbourhood indicators", "about": "About the data",
            "registry": "Indicator registry", "catalogue": "Data catalogue",
            "forecasts": "Forecasts", "alerts": "Alerts", "live": "Live feeds",
            "people": "People and roles", "what-if": "What-if: 15-minute access",
            "scenarios": "Saved scenarios", "workbench": "SQL workbench",
            "drafts": "Indicator drafts"}


@pytest.fixture(scope="module")
def server(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Streamlit server on a free local port, reading the fixture store."""
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, STORE_ENV: str(ui_store), "OBSERVATORY_DEMO_ROLES": "1"}  # the demo
    command = [sys.executable, "-m", "observatory.ui.server", "run",
               str(REPO_ROOT / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with running(command, env, port=port, log=log) as base:
        yield base


def test_every_page_renders_without_error(server: str, tmp_path_factory) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command "
                    "(`bash scripts/test.sh`), which installs Debian's chromium.")
    from playwright.sync_api import sync_playwright

    shots = tmp_path_factory.mktemp("screenshots")
    outside: list[str] = []
    problems: list[str] = []

    def local_only(route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.route("**/*", local_only)
            for role, entries in ROLE_PAGES.items():
                for entry in entries:
                    # deep links, the first of them on a fresh server (observatory/ui/server.py)
                    page.goto(f"{server}/{entry.url_path}?role={role.value}")
                    page.wait_for_selector(SCRIPT_DONE, timeout=30_000)
                    if entry.has_map:
                        page.wait_for_selector(MAP_CANVAS, state="attached", timeout=30_000)
                    page.wait_for_timeout(500)  # let deck.gl draw before the screenshot
                    page.screenshot(path=str(shots / f"{role.value}-{entry.url_path}.png"))
                    title = page.locator("h1").first.inner_text(timeout=5_000)
                    if title.strip() != HEADINGS.get(entry.url_path):
                        problems.append(f"{role.value}/{entry.url_path}: heading {title!r}")
                    if page.get_by_text("Page not found").count():
                        problems.append(f"{role.value}/{entry.url_path}: 'Page not found'")
                    errors = page.locator(ERRORS_ON_SCREEN)
                    for i in range(errors.count()):
                        problems.append(f"{role.value}/{entry.url_path}: "
                                        f"{errors.nth(i).inner_text()[:500]}")
        finally:
            browser.close()
    print(f"screenshots in {shots}")
    assert not problems, "\n".join(problems)
    assert not outside, f"requests left 127.0.0.1: {sorted(set(outside))}"


def test_a_planner_adds_a_facility_by_clicking_the_map(server: str, tmp_path: Path) -> None:
    """Click a cell of the what-if map: its place fills the form, the edit applies and the
    difference map and the edit list follow (deck.gl picking, Streamlit's on_select)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(f"{server}/what-if?role=planners")  # a deep link, on a fresh server
            page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
            page.get_by_role("heading", name="What-if: 15-minute access").wait_for(
                timeout=60_000)
            canvas = page.locator(MAP_CANVAS).first
            canvas.wait_for(state="attached", timeout=30_000)
            page.wait_for_timeout(1_000)
            box = canvas.bounding_box()
            assert box is not None
            canvas.click(position={"x": box["width"] / 2, "y": box["height"] / 2})
            lon = page.get_by_label("Longitude")
            for _ in range(60):  # the click reruns the script, which fills the form
                if lon.input_value():
                    break
                page.wait_for_timeout(500)
            assert 24.9 < float(lon.input_value()) < 25.0
            page.get_by_role("button", name="Apply the edit").click()
            page.get_by_role("button", name="Undo the last edit").wait_for(timeout=30_000)
            page.wait_for_selector(SCRIPT_DONE, timeout=30_000)
            assert page.get_by_text("Where it changes").count() == 1
            assert page.locator(ERRORS_ON_SCREEN).count() == 0
            page.screenshot(path=str(tmp_path / "what-if-after-click.png"), full_page=True)
        finally:
            browser.close()


def test_an_analyst_writes_previews_and_saves_an_indicator(server: str, tmp_path: Path) -> None:
    """Issue 16: write a small indicator in the editor (a name, a parameter, SQL that uses
    it), see it validated, preview its map and save it as a draft."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 3400})
            page.goto(f"{server}/drafts?role=analysts")
            page.get_by_role("heading", name="Indicator drafts").wait_for(timeout=60_000)
            page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
            name = page.get_by_label("Name (file stem, with a measure suffix)")
            name.fill("parks_mapped_browser_count")
            name.press("Tab")
            page.wait_for_selector(SCRIPT_DONE, timeout=30_000)
            boxes = 'textarea[aria-label="{}"]'
            page.locator(boxes.format("Parameters, one per line (name: value)")).fill(
                "category: park")
            sql = page.locator(boxes.format("SQL (one read-only query; parameters as $name)"))
            sql.fill("SELECT h3_cell, count(*) AS value\nFROM osm_pois\n"
                     "WHERE category = $category\nGROUP BY h3_cell")
            sql.press("Tab")
            page.get_by_text("Valid, and its SQL binds").wait_for(timeout=30_000)
            page.wait_for_selector(SCRIPT_DONE, timeout=30_000)
            page.get_by_role("button", name="Preview on the current snapshot").click()
            page.locator(MAP_CANVAS).first.wait_for(state="attached", timeout=30_000)
            assert page.get_by_text("Answered on the server in").count() == 1
            page.get_by_role("button", name="Save as a new draft").click()
            page.get_by_text("Saved draft").wait_for(timeout=30_000)
            page.wait_for_selector(SCRIPT_DONE, timeout=30_000)
            assert page.get_by_text("parks_mapped_browser_count").count() >= 1
            assert page.locator(ERRORS_ON_SCREEN).count() == 0
            page.screenshot(path=str(tmp_path / "drafts-saved.png"), full_page=True)
        finally:
            browser.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_officials_overview_fits_desktops_and_phones(server: str, tmp_path: Path, width: int,
                                                     height: int) -> None:
    """The tiles wrap: no horizontal scrolling at 1440 × 900 or on a 390 px phone; the
    screenshots are kept with the test's files."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{server}/overview?role=officials")
            page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
            page.get_by_role("button", name="Trend and districts").first.wait_for(
                timeout=60_000)
            main = '[data-testid="stMain"]'
            scroll, client = page.evaluate(
                f"() => [document.querySelector('{main}').scrollWidth, "
                f"document.querySelector('{main}').clientWidth]")
            page.screenshot(path=str(tmp_path / f"overview-{width}.png"))
            assert scroll <= client, f"{scroll} px of content in a {client} px page"
            assert page.locator(ERRORS_ON_SCREEN).count() == 0
        finally:
            browser.close()
