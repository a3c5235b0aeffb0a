"""Sources behind a number: which loaded sources produced the tables it reads."""

from __future__ import annotations

import json
from collections.abc import Iterable

import duckdb
import polars as pl

from observatory.store import read_frame
from observatory.views.model import Provenance, SourceRef

_SOURCES_SQL = """
SELECT source_id, type, path, licence, attribution, sha256, loaded_at, data_as_of,
       row_counts, simulated, modelled, expected_cadence_days, issues, notes
FROM sources ORDER BY source_id
"""


def read_sources(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every row of `sources`, with `tables` (list of the tables each source wrote)."""
    frame = read_frame(con, _SOURCES_SQL)
    tables = [sorted(json.loads(text or "{}")) for text in frame["row_counts"].to_list()]
    return frame.with_columns(pl.Series("tables", tables, dtype=pl.List(pl.String)))


def source_refs(frame: pl.DataFrame) -> tuple[SourceRef, ...]:
    """`SourceRef`s from rows of `read_sources`."""
    return tuple(
        SourceRef(
            source_id=row["source_id"], type=row["type"], licence=row["licence"],
            attribution=row["attribution"], data_as_of=row["data_as_of"],
            modelled=bool(row["modelled"]), simulated=bool(row["simulated"]),
        )
        for row in frame.iter_rows(named=True)
    )


def provenance_for_tables(
    con: duckdb.DuckDBPyConnection, tables: Iterable[str], *, unit_label: str,
    sources: pl.DataFrame | None = None,
) -> Provenance:
    """The sources that wrote any of `tables` (all sources when none is traced); a loop
    over indicators passes `sources` (`read_sources`) read once."""
    sources = read_sources(con) if sources is None else sources
    wanted = set(tables)
    traced = sources.filter(
        pl.col("tables").list.eval(pl.element().is_in(list(wanted))).list.any()
    )
    chosen = traced if traced.height else sources
    return Provenance(unit_label=unit_label, sources=source_refs(chosen))
