"""A living demo: the simulated sensor network reporting in real time (`demo --live`).

Nothing here is measured. Every `every` seconds each station of the embedded demo's
simulated network (observatory/demo_feeds.py) reports one reading of PM2.5, NO2 and
temperature, stamped with the current time. Values follow the same seasonal, daily and
rush-hour shapes as the simulated history, with noise seeded by the time stamp (so a
given second always gives the same values). The history ends at midnight UTC at the start
of the store's demo date; the live feed carries on the episodes that were still going on
then (`demo_feeds.current_episodes` of that date: PM2.5 until 18:00 UTC, NO2 until 02:00),
so they clear while the feed runs instead of stopping where the history does. The
street-canyon station SIM-01 also has a simulated NO2 episode (230-290 µg/m³) in the first
three minutes of every ten, so the critical NO2 alert fires and clears while you watch.
Readings go through the ordinary append path (observatory/append.py) as files, exactly as
a sensor gateway's would, into the sources that are flagged `simulated`.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from observatory.append import AppendReport, append_file
from observatory.connectors import Progress, silent_progress
from observatory.demo_feeds import (
    SEED,
    Episode,
    _one_station,
    current_episodes,
    demo_as_of,
    with_episodes,
)
from observatory.errors import InputError
from observatory.store import connect_read

VARIABLES = ("pm25", "no2", "temperature")
SOURCE_PREFIX = "timeseries:simulated_sensors:"
CANYON = "SIM-01"


def demo_stations(store: Path) -> pl.DataFrame:
    """The simulated stations of the demo store (station, lat, lon)."""
    con = connect_read(store)
    try:
        frame = con.sql("SELECT station_id AS station, lat, lon FROM sensor_series "
                        "WHERE source_id = $s ORDER BY station_id",
                        params={"s": SOURCE_PREFIX + "pm25"}).pl()
    finally:
        con.close()
    if frame.is_empty():
        raise InputError(f"{store}: no simulated sensor network to run live; build the "
                         "embedded demo first (`observatory demo --rebuild --no-serve`).")
    return frame


def demo_episodes(store: Path, stations: pl.DataFrame) -> list[Episode]:
    """The episodes of the store's demo date (none for a store built without one)."""
    con = connect_read(store)
    try:
        as_of = demo_as_of(con)
    finally:
        con.close()
    return current_episodes(as_of, stations["station"].to_list()) if as_of else []


def live_readings(stations: pl.DataFrame, at: datetime, *, seed: int = SEED,
                  episodes: Sequence[Episode] = ()) -> pl.DataFrame:
    """One reading per station at `at` (whole seconds, UTC), seeded by the time stamp, with
    what `episodes` add at that time."""
    second = int(at.timestamp())
    stamp = np.array([np.datetime64(second, "s")])
    rows = []
    for index, place in enumerate(stations.iter_rows(named=True)):
        rng = np.random.default_rng([seed, index, second])
        series = with_episodes(_one_station(rng, stamp, canyon=False), stamp, place["station"],
                               episodes)
        values = {k: float(v[0]) for k, v in series.items()}
        if place["station"] == CANYON and at.minute % 10 < 3:
            values["no2"] = round(float(rng.uniform(230, 290)), 1)
        rows.append({"time": datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     **place, **values})
    return pl.DataFrame(rows)


def tick(store: Path, stations: pl.DataFrame, *, at: datetime, folder: Path,
         progress: Progress = silent_progress,
         episodes: Sequence[Episode] = ()) -> list[AppendReport]:
    """Write the readings of one moment as a gateway file and append it to each source."""
    path = folder / f"live-{at:%Y%m%dT%H%M%S}.csv"
    live_readings(stations, at, episodes=episodes).write_csv(path)
    try:
        return [append_file(store, "timeseries", path, source_id=SOURCE_PREFIX + variable,
                            progress=progress) for variable in VARIABLES]
    finally:
        path.unlink(missing_ok=True)


def run_live_feed(store: Path, *, every: float = 5.0, stop: Callable[[], bool] = lambda: False,
                  progress: Progress = silent_progress) -> int:
    """Feed live readings until `stop()`; returns the number of ticks."""
    stations = demo_stations(store)
    episodes = demo_episodes(store, stations)
    ticks = 0
    with tempfile.TemporaryDirectory(prefix="observatory-live-") as folder:
        while not stop():
            started = time.monotonic()
            reports = tick(store, stations, at=datetime.now(UTC), folder=Path(folder),
                           episodes=episodes)
            ticks += 1
            added = sum(r.rows_added for r in reports)
            progress(f"live: {added} simulated readings appended in "
                     f"{time.monotonic() - started:.2f} s")
            time.sleep(max(0.0, every - (time.monotonic() - started)))
    return ticks
