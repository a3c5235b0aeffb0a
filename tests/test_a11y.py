"""axe-core (bundled by axe-playwright-python) on the public portal in headless Chromium.

No serious or critical violation is allowed in the portal pages, in English and French,
nor in the sidebar (the menu of page links observatory/ui/navigation.py `menu` draws, the
sign-in block), which is checked on its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.settings import REPO_ROOT, STORE_ENV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
PAGES = ["?role=public", "about?role=public", "?role=public&lang=fr", "about?lang=fr"]
NAVIGATION = '[data-testid="stSidebar"]'
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def portal(ui_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Streamlit server on a free 127.0.0.1 port reading the fixture store."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path_factory.mktemp("a11y") / "server.log"
    command = [sys.executable, "-m", "observatory.ui.server", "run",
               str(REPO_ROOT / "streamlit_app.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, STORE_ENV: str(ui_store)})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _violations(base: str, *, exclude: list[str] | None, include: list[str] | None
                ) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    found = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            for path in PAGES:
                page.goto(f"{base}/{path}")
                page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
                page.wait_for_timeout(1_500)
                context = {"exclude": [[s] for s in exclude]} if exclude else None
                if include:
                    context = {"include": [[s] for s in include]}
                result = Axe().run(page, context=context)
                found += [f"{path}: {v['impact']} {v['id']} ({v['help']}): "
                          f"{[n['target'] for n in v['nodes'][:3]]}"
                          for v in result.response["violations"] if v["impact"] in BLOCKING]
        finally:
            browser.close()
    return found


def test_portal_pages_have_no_serious_violation(portal: str) -> None:
    found = _violations(portal, exclude=[NAVIGATION], include=None)
    assert not found, "\n".join(found)


def test_sidebar_navigation_has_no_serious_violation(portal: str) -> None:
    found = _violations(portal, exclude=None, include=[NAVIGATION])
    assert not found, "\n".join(found)
