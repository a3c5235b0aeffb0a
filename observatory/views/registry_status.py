"""The registry as analysts audit it: every definition, valid or not, and its last run.

Each definition has one `run_state` with its `run_reason` in words, so a page never counts
an indicator waiting for data as a failure:

- `ok`: computed on the current store;
- `waiting`: valid, but an input is not loaded yet (the engine's message names it);
- `failed`: the last run did not succeed;
- `not run`: valid, never computed on this store;
- `invalid`: the definition file has problems (listed with file and line).
"""

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


RUN_STATES = ("invalid", "failed", "waiting", "not run", "ok")  # what needs a look first
_NOT_RUN = "not computed on this store yet: run `observatory indicators compute`"


def _run_state() -> pl.Expr:
    last = pl.col("last_run")
    return (pl.when(pl.col("status") == "invalid").then(pl.lit("invalid"))
            .when(last.is_null()).then(pl.lit("not run"))
            .when(last == "ok").then(pl.lit("ok"))
            .when(last == "waiting").then(pl.lit("waiting"))
            .otherwise(pl.lit("failed")))


def _run_reason() -> pl.Expr:
    state, message = pl.col("run_state"), pl.col("run_message")
    return (pl.when(state == "invalid").then(pl.col("problems"))
            .when(state == "not run").then(pl.lit(_NOT_RUN))
            .when(state == "ok").then(pl.format("computed: {} rows", pl.col("run_rows")))
            .when(message.is_not_null() & (message != "")).then(message)
            .otherwise(pl.format("last run: {} (no message recorded)", pl.col("last_run"))))


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
        (pl.col("run_hash") == pl.col("definition_hash")).fill_null(False).alias("up_to_date"),
        _run_state().alias("run_state"),
    ).with_columns(_run_reason().alias("run_reason")).sort(
        "status", "theme", "name")  # "invalid" sorts before "valid": problems first
