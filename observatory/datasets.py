"""The datasets (store tables) indicators may read, and what the store holds of them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from observatory.connectors import available_connectors
from observatory.store import connect_read, table_names

# Tables the core derives from loaded sources. The walk-access ones are
# observatory.accessibility's TABLES, named here so that listing datasets does not load the
# walking-network code (tests/test_accessibility.py keeps the two equal).
WALK_ACCESS_TABLES = ("walk_access_origins", "walk_access_cells", "walk_access_services")
CORE_DATASETS = ("population_cells", "building_residents", "study_cells", *WALK_ACCESS_TABLES)
# Tables that are bookkeeping, not inputs.
INTERNAL_TABLES = ("sources", "store_meta", "indicator_results", "indicator_runs",
                   "source_appends", "lake_files")


def known_datasets(con: duckdb.DuckDBPyConnection | None = None) -> set[str]:
    """Dataset names a definition may list in `inputs`."""
    names = set(CORE_DATASETS)
    for connector in available_connectors().values():
        names.update(connector.tables)
    if con is not None:
        names.update(t for t in table_names(con) if t not in INTERNAL_TABLES)
    return names


def known_datasets_at(store: Path) -> set[str]:
    """`known_datasets` of the store file `store` (its current snapshot), or without a
    store when there is none yet."""
    if not store.exists():
        return known_datasets()
    con = connect_read(store)
    try:
        return known_datasets(con)
    finally:
        con.close()
