"""Which snapshot figures come from, and the snapshots a store keeps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.snapshots import connection_config, list_snapshots


def snapshot_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The snapshot's own record of when and by what it was built."""
    rows = con.execute("SELECT key, value FROM store_meta WHERE key LIKE 'snapshot_%'"
                       ).fetchall()
    return {str(k).removeprefix("snapshot_"): str(v) for k, v in rows}


def snapshot_caption(con: duckdb.DuckDBPyConnection, snapshot: Path) -> str:
    """"Snapshot built 2026-12-01 14:38 UTC by build (20261201T…)": one line for a page."""
    meta = snapshot_meta(con)
    built = meta.get("built_at")
    when = (datetime.fromisoformat(built).strftime("%Y-%m-%d %H:%M UTC") if built
            else "at an unknown time")
    by = f" by {meta['label']}" if meta.get("label") else ""
    return f"Snapshot built {when}{by} (`{snapshot.stem}`)"


def snapshots_table(store: Path) -> pl.DataFrame:
    """Every snapshot the store keeps, newest first, with which one is current."""
    rows = []
    for snap in list_snapshots(store):
        with duckdb.connect(str(snap.path), read_only=True,
                            config=connection_config(store)) as con:
            meta = snapshot_meta(con)
        rows.append({"id": snap.id, "current": snap.current,
                     "built_at": meta.get("built_at", snap.built_at.isoformat()),
                     "made_by": meta.get("label", ""), "size_mb": round(snap.size_bytes / 1e6, 1),
                     "path": str(snap.path)})
    return pl.DataFrame(rows, schema={"id": pl.String, "current": pl.Boolean,
                                      "built_at": pl.String, "made_by": pl.String,
                                      "size_mb": pl.Float64, "path": pl.String})
