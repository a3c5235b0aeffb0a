"""Starting a real Streamlit server in tests: a free 127.0.0.1 port and a health wait."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from observatory.bench import load
from observatory.settings import REPO_ROOT

START_TIMEOUT_S = 60


free_port = load.free_port  # a TCP port free on 127.0.0.1 now


def wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server at `base` answers its health check; fail with its log."""
    try:
        load.wait_healthy(base, server, timeout=START_TIMEOUT_S)
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n{log.read_text()}")


@contextmanager
def running(command: list[str], env: dict[str, str], *, port: int, log: Path) -> Iterator[str]:
    """Run a Streamlit server (`command`) until the block ends; its base URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
