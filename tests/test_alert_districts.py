"""Alerts are filtered by the same named districts the officials' pages compare."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from observatory.datasets import known_datasets
from observatory.opsdb import ops_database
from observatory.registry import load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views.alerts import alerts_for_role, filter_alerts


def test_station_alerts_carry_a_named_district(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    frame = alerts_for_role(con, registry, ops=ops_database(helsinki_store), role=Role.OPERATIONS)
    names = {r[0] for r in con.execute("SELECT name FROM districts").fetchall()}
    con.close()
    placed = frame.filter(pl.col("h3_hex").is_not_null())
    assert placed.height > 0
    assert set(placed["district"].to_list()) <= names
    unplaced = frame.filter(pl.col("h3_hex").is_null() & (pl.col("place_kind") != "district"))
    assert unplaced["district"].null_count() == unplaced.height
    one = placed["district"][0]
    assert set(filter_alerts(frame, district=one)["district"].to_list()) == {one}
