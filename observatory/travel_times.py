"""Walking travel-time matrix between places, on the store's walking network.

Like r5py's travel-time matrix for walking: every origin to every destination, with the
walk's length and minutes at a given speed. Points snap as everywhere else (nearest
point of the nearest walkable edge, ground level first, the snap distances walked
straight); the walk between them is the shortest on the graph split at both points, so
two points on the same edge walk straight along it. One Dijkstra search per origin (in
chunks, on scipy's C implementation) reaches every destination at once.

Places come as CSV (`id, lat, lon` in any order, other columns ignored) or GeoJSON
(points with an `id` property or a feature id). Every problem of a file is reported at
once with its line or feature number.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from observatory.errors import InputError
from observatory.network import WalkGraph
from observatory.snapping import Snapped, same_edge_walks, snap_points

DEFAULT_SPEED_KMH = 4.8
CHUNK_CELLS = 20_000_000  # distances held at once: origins per chunk × graph nodes


@dataclass(frozen=True)
class Places:
    """Named points: ids (str), longitudes and latitudes."""

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    @property
    def size(self) -> int:
        """Number of places."""
        return int(self.ids.shape[0])


@dataclass(frozen=True)
class TravelTimes:
    """The matrix (`from_id, to_id, distance_m, minutes`, null when unreachable) and the
    places that could not be snapped (`id, role, distance_m` to the network)."""

    pairs: pl.DataFrame
    unsnapped: pl.DataFrame


def read_places(path: Path) -> Places:
    """Places from a CSV or GeoJSON file; InputError listing every problem with its place."""
    if not path.is_file():
        raise InputError(f"{path}: file not found. Give a CSV (id, lat, lon) or GeoJSON file.")
    text = path.read_text(encoding="utf-8-sig")
    looks_json = path.suffix.lower() in (".geojson", ".json") or text.lstrip().startswith("{")
    return _geojson_places(path, text) if looks_json else _csv_places(path, text)


def _csv_places(path: Path, text: str) -> Places:
    reader = csv.DictReader(text.splitlines())
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    missing = [c for c in ("id", "lat", "lon") if c not in fields]
    if missing:
        raise InputError(f"{path}: line 1: no column {', '.join(missing)}; the header must "
                         f"name id, lat and lon (found: {', '.join(fields) or 'nothing'}).")
    ids, lon, lat, problems = [], [], [], []
    for line, row in enumerate(reader, start=2):
        where = f"{path}: line {line}"
        values = {c: (row.get(fields[c]) or "").strip() for c in ("id", "lat", "lon")}
        _collect(where, values["id"], values["lat"], values["lon"], ids, lat, lon, problems)
    return _places(path, ids, lon, lat, problems)


def _geojson_places(path: Path, text: str) -> Places:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{path}: line {error.lineno}: not valid JSON ({error.msg}).") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InputError(f"{path}: not a GeoJSON FeatureCollection (no `features` list).")
    ids, lon, lat, problems = [], [], [], []
    for number, feature in enumerate(features, start=1):
        where = f"{path}: feature {number}"
        geometry = (feature or {}).get("geometry") or {}
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if not isinstance(coords, list) or len(coords) < 2:
            problems.append(f"{where}: not a Point with coordinates; give each place as a "
                            "Point [lon, lat].")
            continue
        props = feature.get("properties") or {}
        ident = props.get("id", feature.get("id"))
        _collect(where, "" if ident is None else str(ident), str(coords[1]), str(coords[0]),
                 ids, lat, lon, problems)
    return _places(path, ids, lon, lat, problems)


def _collect(where: str, ident: str, lat_text: str, lon_text: str, ids: list[str],
             lat: list[float], lon: list[float], problems: list[str]) -> None:
    """Check one place; append it, or its problems."""
    found = []
    if not ident:
        found.append(f"{where}: no id; give every place an id.")
    lat_value, lon_value = _number(lat_text), _number(lon_text)
    if lat_value is None or not -90 <= lat_value <= 90:
        found.append(f"{where}: lat {lat_text!r} is not a latitude in degrees (-90..90).")
    if lon_value is None or not -180 <= lon_value <= 180:
        found.append(f"{where}: lon {lon_text!r} is not a longitude in degrees (-180..180).")
    if found:
        problems.extend(found)
        return
    ids.append(ident)
    lat.append(lat_value)  # type: ignore[arg-type]
    lon.append(lon_value)  # type: ignore[arg-type]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _places(path: Path, ids: list[str], lon: list[float], lat: list[float],
            problems: list[str]) -> Places:
    seen: dict[str, int] = {}
    for ident in ids:
        seen[ident] = seen.get(ident, 0) + 1
    problems += [f"{path}: id {i!r} appears {n} times; ids must be unique."
                 for i, n in seen.items() if n > 1]
    if not ids and not problems:
        problems.append(f"{path}: holds no places; give at least one (id, lat, lon).")
    if problems:
        raise InputError("\n".join(problems))
    return Places(ids=np.asarray(ids, dtype=object), lon=np.asarray(lon, dtype=np.float64),
                  lat=np.asarray(lat, dtype=np.float64))


def travel_time_matrix(graph: WalkGraph, origins: Places, destinations: Places, *,
                       speed_kmh: float = DEFAULT_SPEED_KMH) -> TravelTimes:
    """Walking distance and minutes from every origin to every destination."""
    if not (math.isfinite(speed_kmh) and speed_kmh > 0):
        raise InputError(f"--speed-kmh {speed_kmh}: the walking speed must be a positive "
                         "number of km/h (e.g. 4.8).")
    if graph.projection is None:
        raise InputError("the walking graph has no lon/lat projection; build it from a store.")
    project = graph.projection.to_xy
    snap = snap_points(graph, xy=np.r_[project(origins.lon, lat=origins.lat),
                                       project(destinations.lon, lat=destinations.lat)])
    from_snap = snap.take(np.arange(origins.size))
    to_snap = snap.take(np.arange(origins.size, snap.size))
    distance = walk_matrix(graph, from_snap, to_snap)
    same = ((origins.lon[:, None] == destinations.lon[None, :])
            & (origins.lat[:, None] == destinations.lat[None, :])
            & from_snap.ok[:, None] & to_snap.ok[None, :])
    distance[same] = 0.0  # a place on the network to itself
    return TravelTimes(pairs=_pairs(origins, destinations, distance, speed_kmh),
                       unsnapped=_unsnapped(origins, destinations, from_snap, to_snap))


def walk_matrix(graph: WalkGraph, origins: Snapped, destinations: Snapped) -> np.ndarray:
    """(origins × destinations) metres of the shortest walks; inf: unreachable or unsnapped."""
    out = np.full((origins.size, destinations.size), np.inf)
    ok = np.flatnonzero(origins.ok)
    chunk = max(1, min(256, CHUNK_CELLS // max(graph.n_nodes, 1)))
    for start in range(0, ok.size, chunk):
        rows = ok[start:start + chunk]
        fields = _fields_from(graph, origins.take(rows))
        for i, row in enumerate(rows):
            out[row] = np.minimum(destinations.walks_from(fields[i]),
                                  same_edge_walks(destinations, origins.take(rows[i:i + 1])))
    return out


def _fields_from(graph: WalkGraph, points: Snapped) -> np.ndarray:
    """Node distances from each snapped point (one row each): virtual nodes, one Dijkstra."""
    n, k = graph.n_nodes, points.size
    csr = graph.csr
    extra_rows = np.repeat(np.arange(n, n + k), 2)
    extra_cols = np.column_stack([points.a, points.b]).ravel()
    extra_w = np.column_stack([points.distance_m + points.along_m,
                               points.distance_m + points.edge_m - points.along_m]).ravel()
    rows = np.r_[np.repeat(np.arange(n, dtype=np.int64), np.diff(csr.indptr)), extra_rows]
    extended = sp.csr_array((np.r_[csr.data, extra_w], (rows, np.r_[csr.indices, extra_cols])),
                            shape=(n + k, n + k))
    found = dijkstra(extended, directed=True, indices=np.arange(n, n + k))
    return np.asarray(found)[:, :n]


def _pairs(origins: Places, destinations: Places, distance: np.ndarray,
           speed_kmh: float) -> pl.DataFrame:
    finite = np.isfinite(distance)
    metres = np.where(finite, np.round(distance, 1), np.nan)
    minutes = np.where(finite, np.round(distance / (speed_kmh * 1000 / 60), 2), np.nan)
    return pl.DataFrame({
        "from_id": np.repeat(origins.ids, destinations.size).astype(str),
        "to_id": np.tile(destinations.ids, origins.size).astype(str),
        "distance_m": metres.ravel(), "minutes": minutes.ravel(),
    }).with_columns(pl.col("distance_m", "minutes").fill_nan(None))


def _unsnapped(origins: Places, destinations: Places, from_snap: Snapped,
               to_snap: Snapped) -> pl.DataFrame:
    rows = [(origins.ids[i], "origin", from_snap.distance_m[i])
            for i in np.flatnonzero(~from_snap.ok)]
    rows += [(destinations.ids[i], "destination", to_snap.distance_m[i])
             for i in np.flatnonzero(~to_snap.ok)]
    return pl.DataFrame(rows, schema={"id": pl.String, "role": pl.String,
                                      "distance_m": pl.Float64}, orient="row")
