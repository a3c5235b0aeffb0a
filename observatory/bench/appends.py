"""The append half of `observatory bench operations`: 200 new readings into a store that
holds N readings, against the full rebuild that was the only way before.

The store is the embedded Helsinki demo plus one synthetic PM2.5 source (seeded, clearly a
benchmark input: never presented as data) of N readings from stations on the study area's
cells (by default 96 stations every 10 minutes, about two years; `--stations` and
`--cadence-s` change that). Ours: `append_file` (new lake files, the
dependent indicators for the year touched, their forecasts, the alert rules that read
them), timed on the second of two appends of the same size in one process (a feed's
process is long-lived; the first, which pays for imports and opening the operational
database, is reported too). Peer, in the same run: the full rebuild of the same store with
the same new readings added to the source file (copy the store, reload the source,
recompute every indicator and forecast, evaluate every rule). Both must give the same
indicator values.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261201
CADENCE_S = 600
SOURCE_OPTIONS = {"time": "time", "value": "pm25", "variable": "pm25", "unit": "µg/m³",
                  "station": "station", "lat": "lat", "lon": "lon", "licence": "synthetic",
                  "simulated": True}


def _log(message: str) -> None:
    print(f"[bench operations] {message}", file=sys.stderr)


def _places(store: Path, count: int, rng: np.random.Generator) -> pl.DataFrame:
    from observatory.store import connect_read

    con = connect_read(store)
    try:
        cells = con.execute("SELECT lat, lon FROM study_cells ORDER BY h3_cell").fetchall()
    finally:
        con.close()
    picks = rng.choice(len(cells), size=count, replace=count > len(cells))
    jitter = rng.uniform(-2e-4, 2e-4, (count, 2))
    return pl.DataFrame({"station": [f"B{i:03d}" for i in range(count)],
                         "lat": [round(cells[p][0] + j[0], 6) for p, j in zip(picks, jitter,
                                                                                 strict=True)],
                         "lon": [round(cells[p][1] + j[1], 6) for p, j in zip(picks, jitter,
                                                                                 strict=True)]})


def readings(places: pl.DataFrame, *, first: int, rows: int, seed: int,
             cadence_s: int = CADENCE_S) -> pl.DataFrame:
    """Readings number `first` to `first + rows - 1`: every station in turn, one step of
    `cadence_s` seconds after another from 2023-01-01."""
    rng = np.random.default_rng([seed, first])
    count = places.height
    index = np.arange(first, first + rows)
    station, step = index % count, index // count
    start = np.datetime64("2023-01-01T00:00:00")
    stamps = start + (step * cadence_s).astype("timedelta64[s]")
    return pl.DataFrame({
        "station": places["station"].gather(station), "lat": places["lat"].gather(station),
        "lon": places["lon"].gather(station),
        "time": pl.Series(stamps.astype("datetime64[us]")).dt.replace_time_zone("UTC"),
        "pm25": rng.gamma(2.0, 3.5, rows).round(2)})


def _whole_area(store: Path, names: list[str]) -> pl.DataFrame:
    from observatory.store import connect_read

    con = connect_read(store)
    try:
        return con.sql("SELECT indicator, period, resolution, h3_cell, value FROM "
                       "indicator_results WHERE indicator IN (SELECT unnest($n)) ORDER BY ALL",
                       params={"n": names}).pl()
    finally:
        con.close()


def _rebuild(store: Path, source: Path) -> float:
    """The peer: what an append cost before, a whole new store with the source reloaded."""
    from observatory.build import after_publish, compute_into, ingest_into
    from observatory.store import write_session

    start = time.perf_counter()
    with write_session(store, label="bench full rebuild") as con:
        ingest_into(con, "timeseries", source, options=SOURCE_OPTIONS)
        compute_into(con)
    after_publish(store)
    return time.perf_counter() - start


def append_benchmark(demo_store: Path, workdir: Path, *, total: int = 10_000_000,
                     append_rows: int = 200, stations: int = 96,
                     cadence_s: int = CADENCE_S) -> dict[str, object]:
    """Load `total` readings, then time an append of `append_rows` against a rebuild."""
    from observatory.append import append_file
    from observatory.build import compute_into, ingest_into
    from observatory.snapshots import copy_store
    from observatory.store import write_session

    workdir.mkdir(parents=True, exist_ok=True)
    places = _places(demo_store, stations, np.random.default_rng(SEED))
    def batch(first: int, rows: int) -> pl.DataFrame:
        return readings(places, first=first, rows=rows, seed=SEED, cadence_s=cadence_s)

    history = batch(0, total)
    cold, new = batch(total, append_rows), batch(total + append_rows, append_rows)
    base = workdir / "base.parquet"
    history.write_parquet(base)
    ours = copy_store(demo_store, workdir / "ours.duckdb")
    _log(f"loading {total:,} readings into the store")
    with write_session(ours, label="bench load") as con:
        record = ingest_into(con, "timeseries", base, options=SOURCE_OPTIONS)
        compute_into(con)
    peer = copy_store(ours, workdir / "peer.duckdb")
    timings = []
    for name, batch in (("cold", cold), ("warm", new)):  # the first pays imports, opening
        path = workdir / f"{name}.csv"                     # the operational database...
        batch.with_columns(pl.col("time").dt.strftime("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
        start = time.perf_counter()
        report = append_file(ours, "timeseries", path, source_id=record.source_id)
        timings.append(time.perf_counter() - start)
        _log(report.summary())
    combined = workdir / "combined.parquet"
    pl.concat([history, cold, new]).write_parquet(combined)
    combined.replace(base)  # same source id (file stem) as before, now with the new rows
    full_s = _rebuild(peer, base)
    names = report.indicators
    left, right = _whole_area(ours, names), _whole_area(peer, names)
    same = left.height == right.height and bool(
        ((left["value"] - right["value"]).abs().fill_null(0) <= 1e-9).all())
    return {"append_rows": report.rows_added, "store_readings": total + 2 * append_rows,
            "append_s": round(timings[1], 3), "append_first_in_process_s": round(timings[0], 3),
            "full_rebuild_s": round(full_s, 3), "append_speedup": round(full_s / timings[1], 1),
            "append_indicators": len(names), "append_rules": len(report.rules),
            "append_stations": stations, "append_cadence_s": cadence_s,
            "append_same_values": same}
