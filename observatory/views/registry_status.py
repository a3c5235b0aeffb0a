"""The registry as analysts audit it: every definition, valid or not, and its last run."""

from __future__ import annotations

import duckdb
import polars as pl

from observatory.registry import Registry
from observatory.roles import Role
from observatory.store import read_frame
from observatory.views.indicators import visible_specs

_SCHEMA = {
    "name": pl.String, "label": pl.String, "theme": pl.String, "status": pl.String,
    "problems": pl.String, "visibility": pl.String, "unit": pl.String,
    "aggregation": pl.String, "inputs": pl.String, "min_count": pl.Int64,
    "owner": pl.String, "file": pl.String, "definition_hash": pl.String,
}


def _runs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return read_frame(
        con, "SELECT indicator AS name, status AS last_run, message AS run_message, "
        "rows AS run_rows, seconds AS run_seconds, computed_at AS run_at, "
        "definition_hash AS run_hash FROM indicator_runs")


def registry_status(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, role: Role
) -> pl.DataFrame:
    """Every definition `role` may see with its validation status and last run.

    Invalid files are listed too (by file name, with their problems) for roles that see
    internal indicators: an invalid file's visibility is unknown, so the public never
    sees them. `up_to_date` is false when the definition changed since its last run.
    """
    rows = [
        {
            "name": s.spec.name, "label": s.spec.label_in("en"), "theme": s.spec.theme,
            "status": "valid", "problems": "", "visibility": s.spec.visibility,
            "unit": s.spec.unit, "aggregation": s.spec.aggregation,
            "inputs": ", ".join(s.spec.inputs), "min_count": s.spec.min_count,
            "owner": s.spec.owner, "file": f"{s.path.parent.name}/{s.path.name}",
            "definition_hash": s.definition_hash,
        }
        for s in visible_specs(registry, role=role)
    ]
    if role.sees_internal:
        rows += [
            {"name": path.stem, "label": None, "theme": path.parent.name, "status": "invalid",
             "problems": "\n".join(messages), "visibility": None, "unit": None,
             "aggregation": None, "inputs": None, "min_count": None, "owner": None,
             "file": f"{path.parent.name}/{path.name}", "definition_hash": None}
            for path, messages in sorted(registry.problems.items())
        ]
    frame = pl.DataFrame(rows, schema=_SCHEMA)
    out = frame.join(_runs(con), on="name", how="left")
    return out.with_columns(
        (pl.col("run_hash") == pl.col("definition_hash")).fill_null(False).alias("up_to_date")
    ).sort("status", "theme", "name")  # "invalid" sorts before "valid": problems first
