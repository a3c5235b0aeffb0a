"""`observatory bench ingest`: sensor readings into the store vs a pandas + per-row h3 baseline.

Generates N readings (seeded, clearly synthetic: a benchmark input, never stored as data)
in a temporary CSV, ingests them with the timeseries connector (parsing, unit checks,
flags, gaps, H3 indexing, hourly aggregation, the DuckDB write and atomic swap) and times
the common peer approach on a sample scaled to N: pandas `read_csv`, `to_datetime`,
`h3.latlng_to_cell` per row through `DataFrame.apply(axis=1)` and an hourly group-by (no
validation and no store write, so the baseline is favoured).
"""

from __future__ import annotations

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


def _log(message: str) -> None:
    print(f"[bench ingest] {message}", file=sys.stderr)


def readings_csv(path: Path, *, rows: int, seed: int = SEED) -> None:
    """Write `rows` synthetic PM2.5 readings from STATIONS stations around central Helsinki."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = rng.uniform(60.15, 60.19, STATIONS), rng.uniform(24.90, 24.98, STATIONS)
    station = np.arange(rows) % STATIONS
    steps = np.arange(rows) // STATIONS  # one reading every 10 minutes per station
    start = np.datetime64("2020-01-01T00:00:00")
    stamps = (start + (steps * 600).astype("timedelta64[s]")
              + (station * 7).astype("timedelta64[s]"))
    frame = pl.DataFrame({
        "station": pl.Series(station).cast(pl.String).str.pad_start(3, "0"),
        "time": pl.Series(stamps.astype("datetime64[us]")).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lat": lat0[station].round(6), "lon": lon0[station].round(6),
        "pm25": rng.gamma(2.0, 4.0, rows).round(2),
    })
    frame.write_csv(path)


def _ours(csv: Path, store: Path) -> float:
    from observatory.build import ingest_into
    from observatory.store import write_session

    options = {"time": "time", "value": "pm25", "variable": "pm25", "unit": "µg/m³",
               "station": "station", "lat": "lat", "lon": "lon"}
    start = time.perf_counter()
    with write_session(store, fresh=True) as con:
        ingest_into(con, "timeseries", csv, options=options)
    return time.perf_counter() - start


def _baseline(csv: Path, *, sample: int) -> float:
    import h3
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(csv, nrows=sample)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["h3_cell"] = frame.apply(lambda row: h3.latlng_to_cell(row["lat"], row["lon"], 10),
                                   axis=1)
    frame["hour"] = frame["time"].dt.floor("h")
    frame.groupby(["station", "hour", "h3_cell"])["pm25"].agg(["mean", "min", "max", "count"])
    return time.perf_counter() - start


def main(*, rows: int = 10_000_000) -> dict[str, float | int]:
    """Run the benchmark; return the figures printed as the last line."""
    with tempfile.TemporaryDirectory(prefix="obs-bench-") as folder:
        csv = Path(folder) / "readings.csv"
        _log(f"generating {rows:,} readings")
        readings_csv(csv, rows=rows)
        _log("ingesting with observatory")
        ours = _ours(csv, Path(folder) / "bench.duckdb")
        sample = min(rows, BASELINE_SAMPLE)
        _log(f"ingesting {sample:,} rows with pandas + per-row h3")
        baseline = _baseline(csv, sample=sample) * rows / sample
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": rows, "ours_s": round(ours, 2), "baseline_s": round(baseline, 2),
            "speedup": round(baseline / ours, 1), "peak_rss_mb": round(peak)}
