"""Views of what the store holds: sources and their freshness, tables, data coverage."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import polars as pl

from observatory.datasets import INTERNAL_TABLES
from observatory.errors import UnknownDatasetError
from observatory.roles import Role
from observatory.store import read_frame, table_names
from observatory.views.model import MAX_MAP_CELLS, CellMap
from observatory.views.provenance import provenance_for_tables, read_sources

# Street classes drawn as map context, most important first (footways would swamp it).
STREET_CLASSES = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link", "trunk_link",
    "primary_link", "secondary_link", "tertiary_link", "residential", "unclassified",
    "living_street", "pedestrian",
)
# Tables the public may map per cell: open OpenStreetMap data, nothing modelled about people.
PUBLIC_DATASETS = ("osm_pois", "osm_buildings", "osm_nodes", "study_cells")


def _freshness(age_days: float | None, cadence: int | None) -> str:
    if age_days is None:
        return "no date"
    if cadence is None:
        return "no cadence declared"
    return "fresh" if age_days <= cadence else f"stale ({age_days - cadence:,.0f} days late)"


def _row_counts_text(text: str) -> tuple[int, str]:
    counts = json.loads(text or "{}")
    return sum(counts.values()), ", ".join(f"{t}: {n:,}" for t, n in sorted(counts.items()))


def sources_catalogue(
    con: duckdb.DuckDBPyConnection, *, now: datetime | None = None
) -> pl.DataFrame:
    """Every loaded source with provenance, row counts, validation issues and freshness.

    `freshness` compares the age of `data_as_of` with `expected_cadence_days`.
    """
    now = now or datetime.now(UTC)
    rows = []
    for row in read_sources(con).iter_rows(named=True):
        as_of = row["data_as_of"]
        age = (now - as_of).total_seconds() / 86_400 if as_of is not None else None
        total, per_table = _row_counts_text(row["row_counts"])
        issues = json.loads(row["issues"] or "[]")
        rows.append({
            "source_id": row["source_id"], "type": row["type"], "licence": row["licence"],
            "attribution": row["attribution"], "data_as_of": as_of,
            "loaded_at": row["loaded_at"], "age_days": round(age, 1) if age is not None else None,
            "expected_cadence_days": row["expected_cadence_days"],
            "freshness": _freshness(age, row["expected_cadence_days"]),
            "rows": total, "row_counts": per_table, "issues": len(issues),
            "issue_list": "; ".join(issues), "modelled": row["modelled"],
            "simulated": row["simulated"], "sha256": row["sha256"], "path": row["path"],
            "notes": row["notes"],
        })
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(
        schema={"source_id": pl.String, "freshness": pl.String, "rows": pl.Int64})


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    frame = read_frame(
        con, "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position")
    out: dict[str, list[str]] = {}
    for table, column in frame.iter_rows():
        out.setdefault(table, []).append(column)
    return out


def dataset_catalogue(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every store table: rows, columns, whether indicators may read it, its sources."""
    columns = _columns(con)
    writers: dict[str, list[str]] = {}
    for row in read_sources(con).iter_rows(named=True):
        for table in row["tables"]:
            writers.setdefault(table, []).append(row["source_id"])
    rows = []
    for table in table_names(con):
        count = con.execute(f"SELECT count(*) FROM {_quote(table)}").fetchall()[0][0]
        rows.append({
            "table": table, "rows": count, "columns": len(columns.get(table, [])),
            "kind": "bookkeeping" if table in INTERNAL_TABLES else "dataset",
            "has_h3_cell": "h3_cell" in columns.get(table, []),
            "sources": ", ".join(writers.get(table, [])) or "derived in the store",
            "column_names": ", ".join(columns.get(table, [])),
        })
    return pl.DataFrame(rows, infer_schema_length=None)


def _study_resolution(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT max(resolution) FROM study_cells").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 10


def mappable_tables(con: duckdb.DuckDBPyConnection, *, role: Role) -> list[str]:
    """Store tables with an `h3_cell` column that `role` may map with `dataset_cells`."""
    tables = (t for t, cols in _columns(con).items()
              if "h3_cell" in cols and t not in INTERNAL_TABLES)
    return sorted(t for t in tables if role.sees_internal or t in PUBLIC_DATASETS)


def coverage_resolutions(
    con: duckdb.DuckDBPyConnection, *, max_cells: int = MAX_MAP_CELLS
) -> list[int]:
    """Resolutions at which the study area has fewer than `max_cells` cells, finest first."""
    base = _study_resolution(con)
    counts = read_frame(
        con, "SELECT r AS resolution, (SELECT count(DISTINCT h3_parent(h3_cell, r)) "
        "FROM study_cells) AS cells FROM range(7, $base + 1) AS t(r) ORDER BY r DESC",
        {"base": base})
    return [r for r, n in counts.iter_rows() if n < max_cells]


def dataset_cells(
    con: duckdb.DuckDBPyConnection, table: str, *, role: Role, resolution: int,
) -> CellMap:
    """Rows of one store table per H3 cell over the study area (0 where it has none);
    OpenStreetMap points of interest are counted as such (data coverage)."""
    if table == "osm_pois":
        return poi_counts_by_cell(con, role=role, resolution=resolution)
    return _table_cells(con, table, role=role, resolution=resolution, unit_label="rows")


def _table_cells(con: duckdb.DuckDBPyConnection, table: str, *, role: Role, resolution: int,
                 unit_label: str) -> CellMap:
    allowed = mappable_tables(con, role=role)
    if table not in allowed:
        raise UnknownDatasetError(f"no mappable dataset `{table}` for the {role.label} role; "
                                  f"choose one of {', '.join(allowed)}.")
    resolution = min(resolution, _study_resolution(con))
    frame = read_frame(
        con, f"""
        WITH area AS (SELECT DISTINCT h3_parent(h3_cell, $res) AS cell FROM study_cells),
        rows AS (SELECT h3_parent(h3_cell, $res) AS cell, count(*) AS n
                 FROM {_quote(table)} WHERE h3_cell IS NOT NULL GROUP BY 1)
        SELECT h3_hex(coalesce(area.cell, rows.cell)) AS h3_hex,
               coalesce(rows.n, 0)::DOUBLE AS value
        FROM area FULL OUTER JOIN rows ON area.cell = rows.cell ORDER BY 1
        """, {"res": resolution})
    return CellMap(
        title=f"{table}: {unit_label} per cell", cells=frame, unit_label=unit_label,
        resolution=resolution,
        provenance=provenance_for_tables(con, [table], unit_label=unit_label))


def poi_counts_by_cell(
    con: duckdb.DuckDBPyConnection, *, role: Role, resolution: int = 10
) -> CellMap:
    """Data coverage: OpenStreetMap points of interest per cell of the study area."""
    cells = _table_cells(con, "osm_pois", role=role, resolution=resolution,
                         unit_label="points of interest")
    return CellMap(title="Points of interest per cell", cells=cells.cells,
                   unit_label=cells.unit_label, resolution=cells.resolution,
                   provenance=cells.provenance)


def street_context(
    con: duckdb.DuckDBPyConnection, *, max_segments: int = 12_000
) -> pl.DataFrame:
    """Street segments (`from_lon`, `from_lat`, `to_lon`, `to_lat`) to draw under maps.

    The map has no tiled basemap (no network at run time); the store's own streets give
    orientation. Major classes first, capped at `max_segments`; coordinates rounded to
    about a metre to keep the page light.
    """
    if not {"osm_edges", "osm_nodes"} <= set(table_names(con)):
        return pl.DataFrame(schema={c: pl.Float64 for c in
                                    ("from_lon", "from_lat", "to_lon", "to_lat")})
    return read_frame(
        con, """
        WITH segments AS (
            SELECT least(u, v) AS u, greatest(u, v) AS v,
                   min(list_position($classes, highway)) AS rank
            FROM osm_edges WHERE highway IN $classes GROUP BY 1, 2
        )
        SELECT round(a.lon, 5) AS from_lon, round(a.lat, 5) AS from_lat,
               round(b.lon, 5) AS to_lon, round(b.lat, 5) AS to_lat
        FROM segments AS s JOIN osm_nodes AS a ON a.node_id = s.u
        JOIN osm_nodes AS b ON b.node_id = s.v
        ORDER BY s.rank, s.u, s.v LIMIT $limit
        """, {"classes": list(STREET_CLASSES), "limit": max_segments})


def store_schema(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every table and view of the store with its columns and their types, for the SQL
    workbench's side panel."""
    return read_frame(
        con, "SELECT table_name AS \"table\", string_agg(column_name || ' ' || data_type, "
        "', ' ORDER BY ordinal_position) AS columns FROM information_schema.columns "
        "WHERE table_schema = 'main' GROUP BY table_name ORDER BY table_name")
