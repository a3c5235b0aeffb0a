"""Records from portal APIs (lists of JSON objects) to store tables with H3 cells."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import polars_h3 as plh3

from observatory.errors import SourceFileError
from observatory.h3grid import BASE_RESOLUTION


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict) and {"lat", "lon"} <= set(value):
            flat[f"{key}_lat"], flat[f"{key}_lon"] = value["lat"], value["lon"]
        elif isinstance(value, dict | list):
            flat[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            flat[key] = value
    return flat


def records_to_frame(records: list[dict[str, Any]], *, source: str) -> pl.DataFrame:
    """One row per record; geo points become `<field>_lat`/`<field>_lon`, nested values JSON.

    SourceFileError naming `source` (the URL) when a record is not a JSON object.
    """
    if others := [i for i, r in enumerate(records, start=1) if not isinstance(r, dict)]:
        raise SourceFileError(
            f"{source}: record {others[0]} is {type(records[others[0] - 1]).__name__} "
            f"{str(records[others[0] - 1])[:40]!r}, not a JSON object ({len(others)} of "
            f"{len(records)} records); is this the right dataset?")
    try:
        rows = [_flatten(r) for r in records]
    except RecursionError:
        raise SourceFileError(f"{source}: a record nests JSON too deep to store (more than "
                              "several hundred levels).") from None
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    data = {c: [row.get(c) for row in rows] for c in columns}
    return pl.DataFrame({c: pl.Series(c, v, strict=False) for c, v in data.items()})


def with_point_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `h3_cell` from the first `<x>_lat`/`<x>_lon` (or `lat`/`lon`) pair, if any."""
    pairs = [(c, c[:-4] + "_lon") for c in frame.columns if c.endswith("_lat")]
    pairs = [p for p in pairs if p[1] in frame.columns]
    if not pairs and {"lat", "lon"} <= set(frame.columns):
        pairs = [("lat", "lon")]
    if not pairs:
        return frame
    lat, lon = pairs[0]
    typed = frame.with_columns(pl.col(lat).cast(pl.Float64, strict=False).alias("_lat"),
                               pl.col(lon).cast(pl.Float64, strict=False).alias("_lon"))
    valid = (pl.col("_lat").abs() <= 90) & (pl.col("_lon").abs() <= 180)
    cell = plh3.latlng_to_cell("_lat", "_lon", BASE_RESOLUTION).cast(pl.Int64)
    return typed.with_columns(pl.when(valid).then(cell).alias("h3_cell")).drop("_lat", "_lon")
