"""Service requests per service: medians against the same targets as the on-time indicator."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views import service_performance
from observatory.views.services import TARGET_INDICATOR


def test_medians_and_targets(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    parameters = registry.get(TARGET_INDICATOR).spec.parameters
    frame = service_performance(con, parameters=parameters)
    (median,), = con.execute(
        "SELECT median(epoch(closed_at - requested_at) / 86400) FROM service_requests "
        "WHERE service_name = 'Pothole' AND year(requested_at) = 2024").fetchall()
    con.close()
    assert frame.height == 5 * 5  # five services, five years
    targets = dict(frame.select("service", "target_days").unique().iter_rows())
    assert targets == {"Snow clearance": 1.0, "Litter": 3.0, "Pothole": 7.0,
                       "Street light out": 7.0, "Graffiti": 7.0}
    pothole = frame.filter((pl.col("service") == "Pothole") & (pl.col("year") == "2024"))
    assert pothole["median_days"][0] == round(median, 2)
    assert pothole["median_on_target"][0] == (median <= 7)
    assert frame["simulated"].all()
