"""Figures as they are published: the overview of every indicator, maps and trends.

Each view takes the role: the public sees public indicators only, with small cells merged
or withheld by disclosure control; staff roles see every cell. The open-data bundle
(`observatory.publish`) is made of the public role's frames, so a page, a download and a
published file always agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from observatory.disclosure import Disclosure
from observatory.h3grid import cell_to_hex
from observatory.i18n import plain_summary
from observatory.registry import Registry
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.roles import Role
from observatory.views.disclosure import indicator_disclosure
from observatory.views.indicators import (
    available_periods,
    chosen_target,
    indicator_cells,
    summary_of,
    target_status,
    visible_spec,
    visible_specs,
)
from observatory.views.model import CellMap, Provenance
from observatory.views.provenance import provenance_for_tables, read_sources

PUBLIC = Role.PUBLIC
# Columns of every published table (CSV, Parquet, GeoJSON properties), in this order.
TABLE_SCHEMA = {
    "indicator": pl.String, "period": pl.String, "resolution": pl.Int64,
    "h3_cell": pl.String, "value": pl.Float64, "numerator": pl.Float64,
    "denominator": pl.Float64, "unit": pl.String, "area": pl.String,
    "merged_cells": pl.String, "merged_into": pl.String,
}


@dataclass(frozen=True)
class IndicatorMap:
    """One indicator at one resolution as a role sees it.

    `table`: the published rows (TABLE_SCHEMA): cells, then merged areas. `drawn`: the
    same figures per hexagon for the map (a merged area's cells carry its value).
    `withheld`: cells at this resolution not published, by reason.
    """

    name: str
    label: str
    period: str
    resolution: int
    table: pl.DataFrame
    drawn: CellMap
    withheld: dict[str, int]
    merged_areas: int
    min_count: int
    count_basis: str  # "denominator" or "value"


def indicator_overview(con: duckdb.DuckDBPyConnection, registry: Registry, *, role: Role,
                       language: str = "en") -> pl.DataFrame:
    """Indicators `role` may see that have results, by theme: label, whole-area value,
    target and a plain-language summary (disclosure-controlled for the public)."""
    varied, sources = _varied_maps(con), read_sources(con)
    rows = []
    for loaded in visible_specs(registry, role=role):
        spec = loaded.spec
        if not available_periods(con, name=spec.name):
            continue
        summary = summary_of(con, loaded, role=role, sources=sources)
        target = summary.target
        rows.append({
            "name": spec.name, "theme": spec.theme, "label": spec.label_in(language),
            "headline": spec.headline,
            "period": summary.period, "value": summary.value, "unit_label": spec.unit_label,
            "status": target.status if target else None,
            "target_value": target.value if target else None,
            "target_by": target.by if target else None,
            "summary": plain_summary(summary, label=spec.label_in(language),
                                     language=language),
            "description": spec.description_in(language),
            "map_varies": spec.name in varied,
        })
    schema = {"name": pl.String, "theme": pl.String, "label": pl.String,
              "headline": pl.Boolean, "period": pl.String,
              "value": pl.Float64, "unit_label": pl.String, "status": pl.String,
              "target_value": pl.Float64, "target_by": pl.String, "summary": pl.String,
              "description": pl.String, "map_varies": pl.Boolean}
    # headline first, and among them those whose map shows differences: a theme opens on a
    # map that says something (a map where every cell holds one value says so in words)
    return (pl.DataFrame(rows, schema=schema)
            .sort("theme", pl.col("headline").not_(), pl.col("map_varies").not_(), "label"))


def _varied_maps(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Indicators whose finest cells hold more than one value in their newest period."""
    return {row[0] for row in con.execute("""
        SELECT indicator FROM indicator_results r
        WHERE resolution = 10 AND period = (SELECT max(period) FROM indicator_results
                                            WHERE indicator = r.indicator)
        GROUP BY indicator HAVING count(DISTINCT round(value, 9)) > 1""").fetchall()}


def whole_area_trend(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                     role: Role) -> pl.DataFrame:
    """The whole-area value per period (periods withheld from `role` left out) with the
    target."""
    return trend_of(con, visible_spec(registry, name, role=role), role=role)


def trend_of(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec, *, role: Role
             ) -> pl.DataFrame:
    """`whole_area_trend` of a definition already at hand."""
    spec = loaded.spec
    target = chosen_target(list(spec.targets))
    rows, sources = [], read_sources(con)
    for period in sorted(available_periods(con, name=spec.name)):
        summary = summary_of(con, loaded, role=role, period=period, sources=sources)
        if summary.value is None:
            continue
        status = target_status(summary.value, target, direction=spec.direction) if target else None
        rows.append({"period": period, "value": summary.value,
                     "target": target.value if target else None,
                     "target_by": target.by.isoformat() if target else None,
                     "status": status.status if status else None})
    schema = {"period": pl.String, "value": pl.Float64, "target": pl.Float64,
              "target_by": pl.String, "status": pl.String}
    return pl.DataFrame(rows, schema=schema)


def _hex(cell: int | None) -> str | None:
    return None if cell is None else cell_to_hex(cell)


def published_table(disclosure: Disclosure, spec: IndicatorSpec, *, period: str,
                    resolution: int) -> pl.DataFrame:
    """The published rows at `resolution`: its cells, then the merged areas, sorted."""
    rows = [
        {"indicator": spec.name, "period": period, "resolution": resolution,
         "h3_cell": cell_to_hex(row["h3_cell"]), "value": row["value"],
         "numerator": row["numerator"], "denominator": row["denominator"],
         "unit": spec.unit, "area": "cell", "merged_cells": None, "merged_into": None}
        for row in disclosure.published_at(resolution).iter_rows(named=True)
    ]
    merged = disclosure.merged_at(resolution).sort("member_resolution", "parent_cell",
                                                   nulls_last=False)
    for row in merged.iter_rows(named=True):
        rows.append({
            "indicator": spec.name, "period": period, "resolution": row["member_resolution"],
            "h3_cell": None, "value": row["value"], "numerator": row["numerator"],
            "denominator": row["denominator"], "unit": spec.unit, "area": "merged",
            "merged_cells": " ".join(cell_to_hex(c) for c in row["members"]),
            "merged_into": _hex(row["parent_cell"]) or "whole area"})
    return pl.DataFrame(rows, schema=TABLE_SCHEMA)


def _drawn(table: pl.DataFrame) -> pl.DataFrame:
    """One row per hexagon: cells as they are, merged areas' cells with the area's value."""
    cells = table.filter(pl.col("area") == "cell").select(
        pl.col("h3_cell").alias("h3_hex"), "value", "area")
    merged = (table.filter(pl.col("area") == "merged")
              .with_columns(pl.col("merged_cells").str.split(" ").alias("h3_hex"))
              .explode("h3_hex").select("h3_hex", "value", "area"))
    return pl.concat([cells, merged])


def indicator_map(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                  role: Role, period: str, resolution: int, language: str = "en"
                  ) -> IndicatorMap:
    """One indicator at one resolution as `role` sees it: for the public the published
    table (small cells merged or withheld), for staff every cell."""
    spec = visible_spec(registry, name, role=role).spec
    label = spec.label_in(language)
    common = {"name": spec.name, "label": label, "period": period, "resolution": resolution,
              "min_count": spec.min_count,
              "count_basis": "denominator" if spec.aggregation == "ratio" else "value"}
    if not role.disclosure_controlled:
        cells = indicator_cells(con, registry, name, role=role, period=period,
                                resolution=resolution)
        return IndicatorMap(**common, table=_staff_table(cells, spec), drawn=cells,
                            withheld={}, merged_areas=0)
    disclosure = indicator_disclosure(con, spec, period=period)
    table = published_table(disclosure, spec, period=period, resolution=resolution)
    drawn = CellMap(title=label, cells=_drawn(table), unit_label=spec.unit_label,
                    resolution=resolution, period=period, min_count=spec.min_count,
                    provenance=indicator_provenance(con, spec))
    return IndicatorMap(**common, table=table, drawn=drawn,
                        withheld=disclosure.withheld_at(resolution),
                        merged_areas=disclosure.merged_at(resolution).height)


def _staff_table(cells: CellMap, spec: IndicatorSpec) -> pl.DataFrame:
    return cells.cells.select(
        pl.lit(spec.name).alias("indicator"), pl.lit(cells.period).alias("period"),
        pl.lit(cells.resolution, dtype=pl.Int64).alias("resolution"),
        pl.col("h3_hex").alias("h3_cell"), "value", "numerator", "denominator",
        pl.lit(spec.unit).alias("unit"), pl.lit("cell").alias("area"),
        pl.lit(None, dtype=pl.String).alias("merged_cells"),
        pl.lit(None, dtype=pl.String).alias("merged_into")).cast(TABLE_SCHEMA)


def indicator_provenance(con: duckdb.DuckDBPyConnection, spec: IndicatorSpec) -> Provenance:
    """The sources behind one indicator."""
    return provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label)


# Licences of published products: the most demanding licence among the sources wins
# (share-alike ODbL over attribution over public domain).
LICENCES = (("ODbL", "ODbL-1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
            ("CC-BY-4.0", "CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/"),
            ("CC0", "CC0-1.0", "https://creativecommons.org/publicdomain/zero/1.0/"))


def product_licence(provenance: Provenance) -> tuple[str, str | None]:
    """The licence id and URI of figures derived from `provenance`'s sources."""
    texts = [s.licence or "" for s in provenance.sources]
    for marker, spdx, uri in LICENCES:
        if any(marker in text for text in texts):
            return spdx, uri
    return ("; ".join(sorted(set(texts))) or "unknown"), None
