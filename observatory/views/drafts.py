"""A draft's preview as the map and the distribution pages draw (observatory/drafts)."""

from __future__ import annotations

import duckdb
import polars as pl

from observatory.drafts.preview import Preview
from observatory.h3grid import cell_to_hex
from observatory.registry.spec import IndicatorSpec
from observatory.views.indicators import MAX_MAP_CELLS
from observatory.views.model import CellMap
from observatory.views.provenance import provenance_for_tables


def preview_resolutions(preview: Preview) -> list[int]:
    """The resolutions a preview can map (fewer cells than a map holds), finest first."""
    return [r for r in preview.resolutions if preview.cells(r).height < MAX_MAP_CELLS]


def preview_map(con: duckdb.DuckDBPyConnection, preview: Preview, spec: IndicatorSpec, *,
                resolution: int) -> CellMap:
    """The preview's cells at `resolution` in its latest period, with the provenance of
    the draft's inputs."""
    cells = preview.cells(resolution)
    frame = cells.select(
        pl.Series("h3_hex", [cell_to_hex(c) for c in cells["h3_cell"].to_list()],
                  dtype=pl.String), "value", "numerator", "denominator")
    return CellMap(
        title=f"{spec.label_in('en')} (draft preview)", cells=frame,
        unit_label=spec.unit_label, resolution=resolution, period=preview.period,
        min_count=spec.min_count,
        provenance=provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label))


def draft_distribution(preview: Preview, spec: IndicatorSpec) -> pl.DataFrame:
    """The base cells' values in the latest period (`value`), for a histogram."""
    return preview.cells(spec.grain.h3_resolution).select("value").drop_nulls()


def draft_inputs(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The datasets a definition may name as inputs (what validation knows)."""
    from observatory.datasets import known_datasets

    return tuple(sorted(known_datasets(con)))
