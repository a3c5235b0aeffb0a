"""OpenStreetMap PBF connector: walking network, points of interest and buildings.

Loaded with pyrosm. Every spatial row carries its H3 cell (resolution 10) as BIGINT.
"""

from __future__ import annotations

import json
import struct
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import polars as pl
from shapely.geometry import Polygon

from data_sources.osm_categories import POI_FILTER, classify, pt_capacity
from observatory.connectors import Connector, Options, Progress
from observatory.errors import SourceFileError
from observatory.h3grid import cell_table, cells_covering_bbox, with_cells
from observatory.store import SourceRecord, file_sha256
from observatory.walkable import TAGS, walkable_ways

LICENCE = "ODbL-1.0"
ATTRIBUTION = "© OpenStreetMap contributors"
_MAX_HEADER = 64 * 1024
_MAX_BLOB = 32 * 1024 * 1024


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("varint runs past the end")
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result, pos
        shift += 7


def _blob_header(buf: bytes) -> tuple[str, int]:
    """(type, datasize) of one PBF BlobHeader message."""
    pos, kind, size = 0, "", -1
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 2:
            length, pos = _varint(buf, pos)
            if field == 1:
                kind = buf[pos:pos + length].decode("ascii", "replace")
            pos += length
        elif wire == 0:
            value, pos = _varint(buf, pos)
            if field == 3:
                size = value
        else:
            raise ValueError(f"unexpected wire type {wire}")
    return kind, size


def check_pbf(path: Path) -> int:
    """Walk the PBF block structure; return the number of blocks or raise SourceFileError."""
    if not path.exists():
        raise SourceFileError(f"{path}: file not found. Give the path of an .osm.pbf file.")
    if not path.is_file():
        raise SourceFileError(f"{path}: is a folder, not a file. Give the path of an .osm.pbf "
                              "file.")
    fix = "Download the extract again or give another .osm.pbf file."
    total, blocks = path.stat().st_size, 0
    with path.open("rb") as handle:
        while (offset := handle.tell()) < total:
            raw = handle.read(4)
            length = struct.unpack(">I", raw)[0] if len(raw) == 4 else -1
            header = handle.read(length) if 0 < length <= _MAX_HEADER else b""
            try:
                kind, size = _blob_header(header) if len(header) == length else ("", -1)
            except ValueError:
                kind, size = "", -1
            expected = "OSMHeader" if blocks == 0 else "OSMData"
            if kind != expected or not 0 <= size <= _MAX_BLOB:
                what = "is not an OpenStreetMap PBF file" if blocks == 0 else "is corrupt"
                where = f"block {blocks + 1} at byte {offset}"
                raise SourceFileError(f"{path}: {what} ({where}). {fix}")
            if handle.seek(size, 1) > total:
                raise SourceFileError(
                    f"{path}: truncated: block {blocks + 1} at byte {offset} needs "
                    f"{size} bytes but the file ends at byte {total}. {fix}"
                )
            blocks += 1
    if blocks < 2:
        raise SourceFileError(f"{path}: holds no OpenStreetMap data blocks. {fix}")
    return blocks


def _frame(gdf: pd.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    return pl.from_pandas(pd.DataFrame({new: gdf[old] for old, new in columns.items()}))


# Every way that could be walkable; `observatory.walkable` decides which are.
_NETWORK_FILTER = ['["highway"]', '["railway"="platform"]', '["public_transport"="platform"]']


def _read_network(osm: object) -> tuple[pl.DataFrame, pl.DataFrame, float]:
    """The walking network: segments of the ways `walkable_ways` keeps, and their nodes."""
    nodes, edges = osm.get_network(  # type: ignore[attr-defined]
        network_type="walking", nodes=True, custom_filter=_NETWORK_FILTER,
        extra_attributes=list(TAGS))
    if nodes is None or edges is None or len(edges) == 0:
        raise SourceFileError("the extract holds no walkable ways; is it an OSM extract of a city?")
    tags = {t: edges[t].astype("string") if t in edges else None for t in TAGS}
    frame = pl.DataFrame({
        "u": edges["u"].to_numpy(np.int64), "v": edges["v"].to_numpy(np.int64),
        "length_m": edges["length"].to_numpy(np.float64), "way_id": edges["id"].to_numpy(np.int64),
        **{t: pl.Series(t, [None] * len(edges), dtype=pl.String) if c is None
           else pl.from_pandas(c).cast(pl.String) for t, c in tags.items()},
    })
    edge_frame = walkable_ways(frame).filter(pl.col("walkable")).select(
        "u", "v", "length_m", pl.col("highway").fill_null("platform"), "way_id",
        "ground_level")
    if edge_frame.height == 0:
        raise SourceFileError("the extract holds no walkable ways; is it an OSM extract of a city?")
    used = pl.concat([edge_frame["u"], edge_frame["v"]]).unique()
    node_frame = _frame(nodes, {"id": "node_id", "lon": "lon", "lat": "lat"}).with_columns(
        pl.col("node_id").cast(pl.Int64)).filter(pl.col("node_id").is_in(used.implode()))
    return with_cells(node_frame), edge_frame, _newest_edit(edges)


def _points(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """lon, lat and area in m² of each geometry (a point on the surface for areas)."""
    metric = gdf.geometry.to_crs(gdf.geometry.estimate_utm_crs())
    area = metric.area.to_numpy()
    points = gdf.geometry.representative_point()
    return points.x.to_numpy(), points.y.to_numpy(), area


def _tags(row: pd.Series) -> dict[str, object]:
    tags = dict(row.dropna())
    extra = row.get("tags")
    if isinstance(extra, str) and extra.startswith("{"):
        tags.update(json.loads(extra))
    return tags


def _read_pois(osm: object) -> tuple[pl.DataFrame, float]:
    gdf = osm.get_pois(custom_filter=POI_FILTER)  # type: ignore[attr-defined]
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].reset_index(drop=True)
    lon, lat, area = _points(gdf)
    rows = []
    for i, row in gdf.drop(columns="geometry").iterrows():
        tags = _tags(row)
        match = classify(tags)
        if match is None:
            continue
        osm_type, osm_id = str(row["osm_type"]), int(row["id"])
        rows.append({
            "poi_id": f"{osm_type}/{osm_id}", "osm_type": osm_type, "osm_id": osm_id,
            "category": match[0], "kind": match[1], "name": tags.get("name"),
            "pt_capacity": pt_capacity(tags) if match[0] == "public_transport" else None,
            "lon": float(lon[i]), "lat": float(lat[i]),
            "area_m2": float(area[i]) if area[i] > 0 else None,
        })
    frame = pl.DataFrame(rows, schema_overrides={"name": pl.String, "pt_capacity": pl.String,
                                                 "area_m2": pl.Float64})
    return with_cells(frame.unique("poi_id", keep="first").sort("poi_id")), _newest_edit(gdf)


def _levels(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    levels = pd.to_numeric(gdf.get("building:levels"), errors="coerce")
    height = pd.to_numeric(gdf.get("height"), errors="coerce") / 3.0
    source = np.where(levels.notna(), "levels", np.where(height.notna(), "height", "default"))
    return levels.fillna(height).to_numpy(dtype=float), source


def _read_buildings(osm: object) -> tuple[pl.DataFrame, gpd.GeoDataFrame]:
    gdf = osm.get_buildings()  # type: ignore[attr-defined]
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].reset_index(drop=True)
    lon, lat, area = _points(gdf)
    levels, source = _levels(gdf)
    frame = pl.DataFrame({
        "osm_type": gdf["osm_type"].astype(str).to_numpy(),
        "osm_id": gdf["id"].astype("int64").to_numpy(),
        "building": gdf["building"].astype(str).to_numpy(),
        "has_business": (gdf.reindex(columns=["shop", "amenity", "office"]).notna().any(axis=1)
                         .to_numpy()),
        "levels_tagged": levels, "levels_source": source, "footprint_m2": area,
        "lon": lon, "lat": lat,
    }).with_columns(pl.col("levels_tagged").fill_nan(None))
    return with_cells(frame), gdf


def _footprint_cells(buildings: gpd.GeoDataFrame, cells: list[int]) -> pl.DataFrame:
    """Each building's footprint area split over the resolution-10 cells it overlaps."""
    polygons = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(h3.int_to_str(c))])
                for c in cells]
    grid = gpd.GeoDataFrame({"h3_cell": cells}, geometry=polygons, crs="EPSG:4326")
    shapes = buildings[["osm_type", "id", "geometry"]].rename(columns={"id": "osm_id"})
    metric = shapes.estimate_utm_crs()
    pieces = gpd.overlay(shapes.to_crs(metric), grid.to_crs(metric), how="intersection",
                         keep_geom_type=True)
    return pl.DataFrame({
        "osm_type": pieces["osm_type"].astype(str).to_numpy(),
        "osm_id": pieces["osm_id"].astype("int64").to_numpy(),
        "h3_cell": pieces["h3_cell"].astype("int64").to_numpy(),
        "footprint_m2": pieces.geometry.area.to_numpy(),
    })


def _newest_edit(frame: pd.DataFrame) -> float:
    """Newest OSM edit time (epoch seconds) among the rows, or NaN."""
    if "timestamp" not in frame:
        return float("nan")
    return float(pd.to_numeric(frame["timestamp"], errors="coerce").max())


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    con.register("_incoming", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _incoming")
    con.unregister("_incoming")


@contextmanager
def _pyrosm_errors(path: Path) -> Iterator[None]:
    """Errors of pyrosm reading the file as SourceFileError naming it.

    check_pbf only walks the blocks; what is inside them (compressed data, protobuf
    messages) is first read by pyrosm. Its PBFException says the file is bad; any other
    error raised inside pyrosm's own code is taken for a file it cannot read, too.
    """
    import pyrosm

    fix = "Download the extract again or give another .osm.pbf file."
    try:
        yield
    except SourceFileError as exc:
        raise SourceFileError(f"{path}: {exc}") from exc
    except pyrosm.exceptions.PBFException as exc:
        detail = str(exc).replace(f"'{path}'", "the file").replace(str(path), "the file")
        raise SourceFileError(f"{path}: corrupt; pyrosm says: {detail} {fix}") from exc
    except MemoryError:
        raise
    except Exception as exc:
        # pyrosm's frames: its Python modules and its Cython ones (named pyrosm/x.pyx)
        frames = traceback.extract_tb(exc.__traceback__)
        if not any("pyrosm" in Path(f.filename).parts for f in frames):
            raise
        raise SourceFileError(f"{path}: pyrosm cannot read it ({type(exc).__name__}: "
                              f"{str(exc)[:200]}); the file is probably corrupt. {fix}") from exc


def ingest(con: duckdb.DuckDBPyConnection, path: Path, progress: Progress,
           options: Options) -> SourceRecord:
    """Load an OSM PBF extract: network, POIs, buildings and the study area's cells."""
    import pyrosm  # slow import: only when used

    blocks = check_pbf(path)
    progress(f"checked {path.name}: {blocks} blocks")
    with _pyrosm_errors(path):
        osm = pyrosm.OSM(str(path))
        nodes, edges, newest_network = _read_network(osm)
        progress(f"walking network: {nodes.height} nodes, {edges.height} edges")
        pois, newest_poi = _read_pois(osm)
        progress(f"points of interest: {pois.height} in {pois['category'].n_unique()} "
                 "categories")
        buildings, building_shapes = _read_buildings(osm)
        progress(f"buildings: {buildings.height}")
    west, south = nodes["lon"].min(), nodes["lat"].min()
    east, north = nodes["lon"].max(), nodes["lat"].max()
    covered = set(cells_covering_bbox(west, south, east, north))
    covered |= set(pois["h3_cell"].to_list()) | set(buildings["h3_cell"].to_list())
    cells = cell_table(sorted(covered))
    footprints = _footprint_cells(building_shapes, sorted(covered))
    for table, frame in (("osm_nodes", nodes), ("osm_edges", edges), ("osm_pois", pois),
                         ("osm_buildings", buildings), ("osm_building_cells", footprints),
                         ("study_cells", cells)):
        _replace(con, table, frame)
    counts = {"osm_nodes": nodes.height, "osm_edges": edges.height, "osm_pois": pois.height,
              "osm_buildings": buildings.height, "osm_building_cells": footprints.height,
              "study_cells": cells.height}
    edits = [e for e in (newest_network, newest_poi, _newest_edit(building_shapes))
             if np.isfinite(e)]
    as_of = datetime.fromtimestamp(int(max(edits)), UTC) if edits else None
    return SourceRecord(
        source_id=source_id(path, options), type="osm_pbf", path=str(path),
        licence=LICENCE, attribution=ATTRIBUTION, sha256=file_sha256(path),
        row_counts=counts, data_as_of=as_of, expected_cadence_days=365,
        notes=f"study area: lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}",
    )


def source_id(path: Path, options: Options) -> str:
    """`osm:<extract name>`."""
    return f"osm:{path.name.split('.')[0]}"


connector = Connector(
    name="osm", source_id=source_id, help="an OpenStreetMap .osm.pbf extract", ingest=ingest,
    tables=("osm_nodes", "osm_edges", "osm_pois", "osm_buildings", "osm_building_cells",
            "study_cells"),
)
