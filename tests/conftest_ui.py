"""Fixtures of the dashboard tests: a real Helsinki store the app reads through the env.

Plain pytest fixtures; tests/conftest.py loads this module as a plugin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from observatory.settings import REPO_ROOT, STORE_ENV

APP = REPO_ROOT / "streamlit_app.py"


@pytest.fixture(scope="session")
def ui_store(helsinki_store: Path) -> Iterator[Path]:
    """The session's Helsinki store (tests/conftest.py), published as $OBSERVATORY_STORE.

    Session-scoped, so the variable is set on os.environ by hand (monkeypatch is
    function-scoped) and restored afterwards.
    """
    path = helsinki_store
    previous = os.environ.get(STORE_ENV)
    os.environ[STORE_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(STORE_ENV, None)
        else:
            os.environ[STORE_ENV] = previous


@pytest.fixture(scope="session")
def app_script() -> Path:
    """The Streamlit entry point."""
    return APP
