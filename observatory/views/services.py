"""Service requests by service: volume, backlog and median resolution time against target.

Medians do not roll up from cells, so this is a per-service table rather than a cell
indicator; the targets are those of `service_requests_on_time_share`, so the table and
the indicator judge against the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import polars as pl

from observatory.registry import Registry
from observatory.roles import Role, can_see
from observatory.store import read_frame

TARGET_INDICATOR = "service_requests_on_time_share"
# Which parameter of the target indicator holds which service's target (days).
TARGET_PARAMETERS = {"Snow clearance": "snow_target_days", "Litter": "litter_target_days"}
DEFAULT_TARGET = "default_target_days"


def service_targets(parameters: Mapping[str, object], services: list[str]) -> dict[str, float]:
    """Target days per service, from the on-time indicator's parameters."""
    default = float(parameters.get(DEFAULT_TARGET, 7))  # type: ignore[arg-type]
    return {s: float(parameters.get(TARGET_PARAMETERS.get(s, ""), default))  # type: ignore[arg-type]
            for s in services}


def service_performance(con: duckdb.DuckDBPyConnection, *,
                        parameters: Mapping[str, object]) -> pl.DataFrame:
    """Per service and year: requests, still open, median and 90th-percentile days to
    close, the target and whether the median meets it; newest year first."""
    exists = read_frame(con, "SELECT count(*) AS n FROM information_schema.tables "
                        "WHERE table_name = 'service_requests'")["n"][0]
    if not exists:
        return pl.DataFrame(schema={"service": pl.String, "year": pl.String})
    frame = read_frame(con, """
        SELECT service_name AS service, CAST(year(requested_at) AS VARCHAR) AS year,
               count(*) AS requests, count(*) FILTER (WHERE closed_at IS NULL) AS still_open,
               median(epoch(closed_at - requested_at) / 86400) AS median_days,
               quantile_cont(epoch(closed_at - requested_at) / 86400, 0.9) AS p90_days,
               bool_or(source_id LIKE '%simulated%') AS simulated
        FROM service_requests WHERE flag IS NULL OR flag <> 'closed_before_requested'
        GROUP BY ALL ORDER BY year DESC, service""")
    targets = service_targets(parameters, frame["service"].unique().to_list())
    return frame.with_columns(
        pl.col("service").replace_strict(targets, return_dtype=pl.Float64).alias("target_days"),
        pl.col("median_days").round(2), pl.col("p90_days").round(2),
    ).with_columns((pl.col("median_days") <= pl.col("target_days")).alias("median_on_target"))


def service_performance_of(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                           role: Role) -> pl.DataFrame:
    """`service_performance` against the targets of the on-time indicator `role` may see
    (the default target when it may not)."""
    target = registry.specs.get(TARGET_INDICATOR)
    seen = target is not None and can_see(role, visibility=target.spec.visibility)
    return service_performance(con, parameters=target.spec.parameters if seen and target
                               else {})
