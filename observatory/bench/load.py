"""`observatory bench load`: page loads of concurrent sessions against a running server.

Each simulated visitor is a client that speaks Streamlit's own websocket protocol, as the
browser does: it opens `/_stcore/stream`, asks for a page by its URL path and query string
(a `rerun_script` BackMsg, the message a browser sends when it opens a deep link) and
reads the ForwardMsgs until the server says the script finished. Nothing renders, so the
machine's CPU goes to the server, which is what is measured: per page, p50 and p95 of the
time until the page finished running, the bytes sent, and the server's CPU seconds per
page load (from /proc of the server process).

The peer figure is a headless Chromium (`--browser`): one visitor opening the same pages,
timed until Streamlit reports that the script stopped running; it cross-checks that the
protocol client sees the same page times a browser does.

Without `--url` the benchmark starts the demo server on a free port on 127.0.0.1 on the
given store (demo role switcher on, file watcher off), warms each page once, then runs
`rounds` rounds in which every one of `sessions` visitors opens every page.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGES: tuple[tuple[str, str], ...] = (
    ("overview", "role=officials"), ("compare", "role=officials"),
    ("data-health", "role=operations"), ("alerts", "role=operations"),
    ("portal", ""),
)
_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class PageLoad:
    """One page opened by one visitor."""

    page: str
    seconds: float
    sent_bytes: int
    error: str | None


def _back_message(page: str, query: str, url: str) -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: TID251 - the wire protocol

    message = BackMsg()
    state = message.rerun_script
    state.query_string = query
    state.page_name = page
    state.context_info.timezone = "UTC"
    state.context_info.locale = "en-GB"
    state.context_info.url = f"{url}/{page}" + (f"?{query}" if query else "")
    return message.SerializeToString()


def _exception_text(forward: Any) -> str | None:
    if forward.WhichOneof("type") != "delta":
        return None
    element = forward.delta.new_element
    if forward.delta.WhichOneof("type") == "new_element" and \
            element.WhichOneof("type") == "exception":
        return f"{element.exception.type}: {element.exception.message}"
    return None


async def load_page(url: str, page: str, query: str) -> PageLoad:
    """Open `page` as a new visitor and wait until its script finished."""
    import websockets
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: TID251 - the wire protocol

    stream = url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
    sent, error = 0, None
    async with websockets.connect(stream, subprotocols=["streamlit"], origin=url,  # type: ignore[list-item]
                                  max_size=None, open_timeout=_TIMEOUT_S,
                                  ping_interval=None) as socket:
        start = time.perf_counter()
        await socket.send(_back_message(page, query, url))
        async for raw in socket:
            sent += len(raw)
            forward = ForwardMsg()
            forward.ParseFromString(raw)  # type: ignore[arg-type]
            error = error or _exception_text(forward)
            kind = forward.WhichOneof("type")
            if kind == "page_not_found":
                error = error or f"page not found: {page}"
            if kind == "script_finished" and \
                    forward.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                break
        return PageLoad(page, time.perf_counter() - start, sent, error)


async def _timed(url: str, page: str, query: str) -> PageLoad:
    start = time.perf_counter()
    try:
        return await asyncio.wait_for(load_page(url, page, query), _TIMEOUT_S)
    except (OSError, TimeoutError, ConnectionError) as exc:  # counted, not fatal
        return PageLoad(page, time.perf_counter() - start, 0,
                        f"{type(exc).__name__}: {exc}" or "timed out")


async def _visitor(url: str, pages: Sequence[tuple[str, str]]) -> list[PageLoad]:
    return [await _timed(url, page, query) for page, query in pages]


async def _round(url: str, sessions: int, pages: Sequence[tuple[str, str]],
                 offset: int) -> list[PageLoad]:
    # Visitors start on different pages, as real ones would, so the round is a mix.
    orders = [list(pages[(i + offset) % len(pages):]) + list(pages[:(i + offset) % len(pages)])
              for i in range(sessions)]
    results = await asyncio.gather(*(_visitor(url, order) for order in orders))
    return [load for visitor in results for load in visitor]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(loads: list[PageLoad], *, cpu_seconds: float | None,
              wall_seconds: float) -> dict[str, Any]:
    """Per page p50/p95 and bytes; overall p95, CPU seconds per load, errors."""
    per_page: dict[str, Any] = {}
    for page in dict.fromkeys(load.page for load in loads):
        times = [load.seconds for load in loads if load.page == page]
        per_page[page] = {
            "loads": len(times), "p50_s": round(statistics.median(times), 3),
            "p95_s": round(_percentile(times, 0.95), 3),
            "kb": round(statistics.median(load.sent_bytes for load in loads
                                          if load.page == page) / 1024, 1)}
    errors = sorted({f"{load.page}: {load.error}" for load in loads if load.error})
    every = [load.seconds for load in loads]
    return {
        "pages": per_page, "loads": len(loads), "p50_s": round(statistics.median(every), 3),
        "p95_s": round(_percentile(every, 0.95), 3), "wall_s": round(wall_seconds, 2),
        "server_cpu_s_per_load": (round(cpu_seconds / len(loads), 4)
                                  if cpu_seconds is not None else None),
        "errors": errors,
    }


def run_sessions(url: str, *, sessions: int, rounds: int, pid: int | None,
                 pages: Sequence[tuple[str, str]] = PAGES) -> dict[str, Any]:
    """Warm each page once, then `rounds` rounds of `sessions` concurrent visitors."""
    import streamlit.proto.ForwardMsg_pb2  # noqa: F401, TID251 - imported before any clock
    warm = asyncio.run(_round(url, 1, pages, 0))
    cpu_before = server_cpu_seconds(pid) if pid else None
    start = time.perf_counter()
    loads: list[PageLoad] = []
    for number in range(rounds):
        loads += asyncio.run(_round(url, sessions, pages, number))
    wall = time.perf_counter() - start
    cpu = server_cpu_seconds(pid) - cpu_before if pid and cpu_before is not None else None
    figures = summarise(loads, cpu_seconds=cpu, wall_seconds=wall)
    figures["cold_s"] = {load.page: round(load.seconds, 3) for load in warm}
    return figures


def browser_run(url: str, *, pid: int | None, pages: Sequence[tuple[str, str]] = PAGES,
                chromium: str = "/usr/bin/chromium") -> dict[str, Any]:
    """One headless Chromium visitor opening every page: the cross-check."""
    from playwright.sync_api import sync_playwright

    loads: list[PageLoad] = []
    cpu_before = server_cpu_seconds(pid) if pid else None
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        for page_name, query in pages:
            tab = context.new_page()
            start = time.perf_counter()
            tab.goto(f"{url}/{page_name}" + (f"?{query}" if query else ""))
            tab.wait_for_selector("[data-test-script-state='notRunning']",
                                  timeout=_TIMEOUT_S * 1000)
            loads.append(PageLoad(page_name, time.perf_counter() - start, 0, None))
            tab.close()
        browser.close()
    cpu = server_cpu_seconds(pid) - cpu_before if pid and cpu_before is not None else None
    return {"pages": {load.page: round(load.seconds, 3) for load in loads},
            "server_cpu_s_per_load": round(cpu / len(loads), 4) if cpu is not None else None}


def start_server(store: Path, port: int) -> subprocess.Popen[bytes]:
    """The demo server on 127.0.0.1:`port` (role switcher on, no file watcher)."""
    from observatory.settings import serve_command

    command, env = serve_command(store, port=port, address="127.0.0.1", demo=True)
    command += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a server `start_server` started, and close its pipe."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
    if server.stderr is not None:
        server.stderr.close()


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Return when `url` answers its health check; raise if the server died or is slow."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            detail = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise RuntimeError(f"the server stopped before answering: {detail[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server at {url} did not answer within {timeout:.0f} s")


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main(*, store: Path, url: str | None = None, pid: int | None = None, sessions: int = 10,
         rounds: int = 3, browser: bool = False) -> dict[str, Any]:
    """The benchmark's figures; starts (and stops) the demo server unless `url` is given."""
    server = None
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(store, port)
        pid = server.pid
    try:
        if server is not None:
            wait_healthy(url, server)
        figures = {"sessions": sessions, "rounds": rounds, "url": url,
                   **run_sessions(url, sessions=sessions, rounds=rounds, pid=pid)}
        if browser:
            figures["browser"] = browser_run(url, pid=pid)
        return figures
    finally:
        if server is not None:
            stop_server(server)
