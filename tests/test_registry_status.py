"""The registry's run health: ok, waiting for data and failed counted apart, with reasons.

The demo store has indicators waiting for a GTFS feed; they used to be counted as
"Failed last run" on the analysts' registry page.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from observatory.datasets import known_datasets
from observatory.registry import Registry, load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read, write_session
from observatory.views.registry_status import RUN_STATES, registry_status
from tests.signin import signed_in


def _status(store: Path) -> pl.DataFrame:
    con = connect_read(store)
    try:
        registry: Registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
        return registry_status(con, registry, role=Role.ANALYSTS)
    finally:
        con.close()


def _by_state(status: pl.DataFrame) -> dict[str, list[str]]:
    return {state: sorted(status.filter(pl.col("run_state") == state)["name"].to_list())
            for state in RUN_STATES}


def test_waiting_for_data_is_not_a_failure(helsinki_store: Path) -> None:
    status = _status(helsinki_store)
    states = _by_state(status)
    assert states["failed"] == [] and states["invalid"] == [] and states["not run"] == []
    assert len(states["waiting"]) == 3  # all three need a GTFS feed
    waiting = status.filter(pl.col("run_state") == "waiting")
    assert all(r.startswith("waiting for data: ") and "gtfs_" in r
               for r in waiting["run_reason"].to_list())
    assert status.height == len(states["ok"]) + 3
    ok = status.filter(pl.col("run_state") == "ok")["run_reason"].to_list()
    assert all(reason.startswith("computed: ") for reason in ok)


def test_failed_and_never_run_have_their_reasons(store_copy: Path) -> None:
    with write_session(store_copy) as con:
        con.execute("UPDATE indicator_runs SET status = 'failed', message = 'the query "
                    "failed: division by zero' WHERE indicator = 'grocery_walk_minutes'")
        con.execute("UPDATE indicator_runs SET status = 'error', message = NULL "
                    "WHERE indicator = 'park_walk_minutes'")
        con.execute("DELETE FROM indicator_runs WHERE indicator = 'pharmacies_per_1k'")
    status = _status(store_copy)
    states = _by_state(status)
    assert states["failed"] == ["grocery_walk_minutes", "park_walk_minutes"]
    assert states["not run"] == ["pharmacies_per_1k"]
    assert len(states["waiting"]) == 3
    reasons = dict(status.select("name", "run_reason").iter_rows())
    assert reasons["grocery_walk_minutes"] == "the query failed: division by zero"
    assert reasons["park_walk_minutes"] == "last run: error (no message recorded)"
    assert "observatory indicators compute" in reasons["pharmacies_per_1k"]


@pytest.fixture
def registry_page(ui_store: Path, app_script: Path) -> AppTest:
    return signed_in(app_script, Role.ANALYSTS).run().switch_page(
        "pages/analysts/registry.py").run()


def test_registry_page_shows_waiting_failed_and_ok_apart(registry_page: AppTest) -> None:
    at = registry_page
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Waiting for data"] == "3"
    assert metrics["Failed last run"] == "0"
    assert int(metrics["Computed"]) == int(metrics["Valid definitions"]) - 3
    expanders = {e.label: e for e in at.expander}
    waiting = expanders["Waiting for data, and for what (3)"]
    text = " ".join(m.value for m in waiting.markdown)
    assert "waiting for data: " in text and "gtfs_stop_departures" in text
    assert not any(label.startswith("Failed last run") for label in expanders)
