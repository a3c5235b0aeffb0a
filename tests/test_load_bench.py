"""`observatory bench load` end to end at a small scale (its figures at 10 sessions are in
the README): concurrent sessions over Streamlit's websocket protocol get every page to
the end of its script without an error, and the browser cross-check agrees."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from observatory.bench import load


@pytest.mark.slow
def test_concurrent_sessions_load_every_page_without_error(helsinki_store: Path) -> None:
    figures = load.main(store=helsinki_store, sessions=6, rounds=1)
    assert figures["errors"] == []
    assert set(figures["pages"]) == {page for page, _ in load.PAGES}
    assert all(page["loads"] == 6 for page in figures["pages"].values())
    assert figures["loads"] == 6 * len(load.PAGES)
    assert 0 < figures["server_cpu_s_per_load"] < 5
    assert all(0 < page["kb"] < 2000 for page in figures["pages"].values())  # maps included
    json.dumps(figures)  # the CLI prints it as one JSON line


@pytest.mark.slow
def test_the_client_reports_a_page_that_is_not_there(helsinki_store: Path) -> None:
    port = load.free_port()
    url = f"http://127.0.0.1:{port}"
    server = load.start_server(helsinki_store, port)
    try:
        load.wait_healthy(url, server)
        found = asyncio.run(load.load_page(url, "overview", "role=officials"))
        missing = asyncio.run(load.load_page(url, "no-such-page", ""))
    finally:
        load.stop_server(server)
    assert found.error is None and found.sent_bytes > 10_000
    assert missing.error == "page not found: no-such-page"


@pytest.mark.slow
@pytest.mark.browser
def test_the_browser_cross_check_opens_every_page(helsinki_store: Path) -> None:
    if shutil.which("chromium") is None and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is installed by scripts/test.sh")
    figures = load.main(store=helsinki_store, sessions=1, rounds=1, browser=True)
    browser = figures["browser"]
    assert set(browser["pages"]) == {page for page, _ in load.PAGES}
    assert all(0 < seconds < 60 for seconds in browser["pages"].values())
    assert browser["server_cpu_s_per_load"] > 0
