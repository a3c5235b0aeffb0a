"""`observatory bench ingest`: sensor readings into the store vs a pandas + per-row h3 baseline.

Generates N readings (seeded, clearly synthetic: a benchmark input, never stored as data)
in a temporary CSV, ingests them with the timeseries connector (parsing, unit checks,
flags, gaps, H3 indexing, hourly aggregation, the DuckDB write and atomic swap) and times
the common peer approach on a sample scaled to N: pandas `read_csv`, `to_datetime`,
`h3.latlng_to_cell` per row through `DataFrame.apply(axis=1)` and an hourly group-by (no
validation and no store write, so the baseline is favoured). Both sides' hourly figures
(mean, min, max, count and H3 cell per station and hour) are compared on the hours the
sample covers completely; a difference stops the benchmark.

Imports are done before either clock starts (pandas and h3 for the peer; the connector
registry, which imports every connector, for ours). The CSV is written in chunks, so that
the peak memory reported is the ingest's, not the generator's.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261121
STATIONS = 64
BASELINE_SAMPLE = 200_000
CHUNK = 1_000_000  # rows generated at a time
_OPTIONS = {"time": "time", "value": "pm25", "variable": "pm25", "unit": "µg/m³",
            "station": "station", "lat": "lat", "lon": "lon"}


def _log(message: str) -> None:
    print(f"[bench ingest] {message}", file=sys.stderr)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def readings_csv(path: Path, *, rows: int, seed: int = SEED) -> None:
    """Write `rows` synthetic PM2.5 readings from STATIONS stations around central Helsinki
    (in chunks; the same bytes as one pass, since the generator's stream is sequential)."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = rng.uniform(60.15, 60.19, STATIONS), rng.uniform(24.90, 24.98, STATIONS)
    start = np.datetime64("2020-01-01T00:00:00")
    with path.open("wb") as handle:
        for first in range(0, rows, CHUNK):
            index = np.arange(first, min(rows, first + CHUNK))
            station = index % STATIONS
            steps = index // STATIONS  # one reading every 10 minutes per station
            stamps = (start + (steps * 600).astype("timedelta64[s]")
                      + (station * 7).astype("timedelta64[s]"))
            pl.DataFrame({
                "station": pl.Series(station).cast(pl.String).str.pad_start(3, "0"),
                "time": pl.Series(stamps.astype("datetime64[us]"))
                .dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "lat": lat0[station].round(6), "lon": lon0[station].round(6),
                "pm25": rng.gamma(2.0, 4.0, index.size).round(2),
            }).write_csv(handle, include_header=first == 0)
        handle.flush()
        os.fsync(handle.fileno())  # on disk before any clock starts, as a file to load is


def _ours(csv: Path, store: Path) -> tuple[float, pl.DataFrame]:
    """Seconds to ingest, and the stored hourly figures."""
    from observatory.build import ingest_into
    from observatory.connectors import connector_named
    from observatory.store import write_session

    connector_named("timeseries")  # imports every registered connector, outside the clock
    start = time.perf_counter()
    with write_session(store, fresh=True) as con:
        ingest_into(con, "timeseries", csv, options=_OPTIONS)
        seconds = time.perf_counter() - start
        hourly = con.sql("SELECT s.station_id AS station, h.hour, h.mean, h.min, h.max, "
                         "h.n AS count, s.h3_cell FROM sensor_readings_hourly AS h "
                         "JOIN sensor_series AS s USING (series_id)").pl()
    return seconds, hourly


def _baseline(csv: Path, *, sample: int) -> tuple[float, object]:
    """Seconds for the peer approach on the first `sample` rows, and its hourly figures."""
    import h3
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(csv, nrows=sample)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["h3_cell"] = frame.apply(lambda row: h3.latlng_to_cell(row["lat"], row["lon"], 10),
                                   axis=1)
    frame["hour"] = frame["time"].dt.floor("h")
    grouped = frame.groupby(["station", "hour", "h3_cell"])["pm25"].agg(
        ["mean", "min", "max", "count"])
    return time.perf_counter() - start, grouped


def _compare(ours: pl.DataFrame, peer: object, *, partial_last_hour: bool) -> int:
    """The number of station-hours compared; ValueError on any difference."""
    import h3

    theirs = pl.from_pandas(peer.reset_index()).with_columns(  # type: ignore[attr-defined]
        pl.col("station").cast(pl.String).str.pad_start(3, "0"),
        pl.col("hour").cast(pl.Datetime("us", "UTC")),
        pl.col("h3_cell").map_elements(h3.str_to_int, return_dtype=pl.Int64))
    if partial_last_hour:  # the sample ends inside its last hour
        theirs = theirs.filter(pl.col("hour") < pl.col("hour").max())
    ours = ours.with_columns(pl.col("hour").dt.convert_time_zone("UTC"))
    joined = theirs.join(ours, on=["station", "hour"], how="left", suffix="_ours")
    bad = joined.filter(
        pl.col("count_ours").is_null() | (pl.col("count") != pl.col("count_ours"))
        | (pl.col("h3_cell") != pl.col("h3_cell_ours"))
        | (pl.col("min") != pl.col("min_ours")) | (pl.col("max") != pl.col("max_ours"))
        | ((pl.col("mean") - pl.col("mean_ours")).abs() > 1e-9))
    if bad.height:
        raise ValueError(f"ours and the pandas peer differ on {bad.height} station-hours, "
                         f"e.g. {bad.row(0, named=True)}")
    return theirs.height


def main(*, rows: int = 10_000_000) -> dict[str, float | int]:
    """Run the benchmark; return the figures printed as the last line."""
    with tempfile.TemporaryDirectory(prefix="obs-bench-") as folder:
        csv = Path(folder) / "readings.csv"
        _log(f"generating {rows:,} readings")
        readings_csv(csv, rows=rows)
        _log("ingesting with observatory")
        ours, hourly = _ours(csv, Path(folder) / "bench.duckdb")
        ours_peak = _peak_mb()
        sample = min(rows, BASELINE_SAMPLE)
        _log(f"ingesting {sample:,} rows with pandas + per-row h3")
        seconds, grouped = _baseline(csv, sample=sample)
        baseline = seconds * rows / sample
        compared = _compare(hourly, grouped, partial_last_hour=sample < rows)
        _log(f"hourly figures identical on {compared:,} station-hours")
    return {"rows": rows, "ours_s": round(ours, 2), "baseline_s": round(baseline, 2),
            "speedup": round(baseline / ours, 1), "peak_rss_mb": round(_peak_mb()),
            "ours_peak_rss_mb": round(ours_peak), "station_hours_compared": compared}
