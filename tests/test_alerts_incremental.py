"""Feed-rule conditions after an append, computed incrementally from the parent snapshot's
kept rows, equal a full evaluation's (and so do the episodes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from observatory.alerts.conditions import Compiled
from observatory.alerts.episodes import episodes_from_conditions
from observatory.alerts.evaluate import _conditions, _params, evaluate_published
from observatory.alerts.incremental import since_parent
from observatory.alerts.loader import alerts_dir, load_rules
from observatory.alerts.places import PlaceBook
from observatory.append import append_file
from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.settings import indicators_dir
from observatory.store import connect_read

NO2 = "timeseries:simulated_sensors:no2"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
HEADER = "time,station,lat,lon,pm25,no2,temperature\n"
PLACES = {"SIM-01": "60.164927,24.947136", "SIM-02": "60.170531,24.942688"}


def _rows(stamps: list[str], no2: float, station: str = "SIM-01") -> list[str]:
    return [f"{t},{station},{PLACES[station]},5,{no2},1" for t in stamps]


SCENARIOS = {
    # an NO2 episode above the hourly limit right after the history
    "episode at the end": _rows([f"2025-01-01T0{h}:00:00Z" for h in range(4)], 250),
    # a reading after three silent days: a silence of 72 hours, then a reading
    "after a silence": _rows(["2025-01-04T06:00:00Z", "2025-01-04T07:00:00Z"], 30),
    # late data inside the history (a gateway that caught up)
    "late data": _rows([f"2023-06-1{d}T0{h}:30:00Z" for d in range(3) for h in range(3)],
                       260, station="SIM-02"),
}


def _condition_rows(store: Path, since_time: datetime | None) -> tuple[pl.DataFrame,
                                                                         pl.DataFrame]:
    con = connect_read(store)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
        ruleset = load_rules(alerts_dir(), registry=registry)
        items = [Compiled(rule_id=i, rule=r, place_kind=r.place or "whole")
                 for i, r in enumerate(ruleset.rules.values())]
        since = since_parent(store, con, since_time) if since_time else None
        if since_time is not None:
            assert since is not None, "the parent snapshot's rows were kept"
        _conditions(con, items, registry, PlaceBook(con), NOW, since)
        rows = con.sql("SELECT * FROM _alert_cond ORDER BY ALL").pl()
        episodes = episodes_from_conditions(con, _params(items)).sort(pl.all())
        return rows, episodes
    finally:
        con.close()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_incremental_conditions_equal_a_full_evaluation(
        store_copy: Path, tmp_path: Path, scenario: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
    con = connect_read(store_copy)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    finally:
        con.close()
    evaluate_published(store_copy, registry, send=False)  # keeps rows for this snapshot
    path = tmp_path / "gateway.csv"
    path.write_text(HEADER + "".join(f"{r}\n" for r in SCENARIOS[scenario]))
    report = append_file(store_copy, "timeseries", path, source_id=NO2)
    assert report.rows_added == len(SCENARIOS[scenario])
    first = min(datetime.fromisoformat(r.split(",")[0].replace("Z", "+00:00"))
                for r in SCENARIOS[scenario])
    full_rows, full_episodes = _condition_rows(store_copy, None)
    inc_rows, inc_episodes = _condition_rows(store_copy, first)
    starts = pl.col("slot_start").dt.convert_time_zone("UTC")
    assert full_rows.filter(starts >= first - timedelta(hours=1)).height > 0
    assert inc_rows.equals(full_rows)
    assert inc_episodes.equals(full_episodes)
