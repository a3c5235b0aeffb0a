"""Views of the alerts: filtered lists, counts per cell for the map, and the drill-down
behind one alert (the indicator's trend, or the station's readings, or the source).

Alerts, their trails and the rules' status come from the operational database (an
`OpsDB`); districts, cells, readings and indicator values from the analytical snapshot.

An alert's district is the named district (observatory/districts.py) that holds most of
its resolution-10 cell in the crosswalk, or the district it was raised on; without any
districts in the store it falls back to the cell's H3 resolution-7 parent. An alert
without a place (the whole area, a data feed) belongs to no district.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import duckdb
import h3
import polars as pl

from observatory.alerts.lifecycle import alert_trail, list_alerts
from observatory.alerts.spec import DISTRICT_RESOLUTION
from observatory.alerts.tables import OPEN_STATES, has_table
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import alert_rule_status
from observatory.registry import Registry
from observatory.roles import Role, can_see
from observatory.store import read_frame
from observatory.views.datasets import sources_catalogue
from observatory.views.model import CellMap, Provenance
from observatory.views.provenance import provenance_for_tables

SEVERITIES = ("critical", "warning", "info")
MARGIN = timedelta(days=2)


def _named_districts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Resolution-10 cell (hex) -> the name of the district holding most of it."""
    if not (has_table(con, "district_cells") and has_table(con, "districts")):
        return {}
    frame = read_frame(
        con,
        "SELECT h3_hex(c.h3_cell) AS h3_hex, arg_max(d.name, c.weight) "
        "AS name FROM district_cells AS c JOIN districts AS d "
        "USING (district_id) WHERE c.resolution = 10 GROUP BY c.h3_cell",
    )
    return dict(frame.iter_rows())


def _district(hex_cell: str | None, named: dict[str, str]) -> str | None:
    if not hex_cell:
        return None
    if not named:
        return h3.cell_to_parent(hex_cell, DISTRICT_RESOLUTION)
    if h3.get_resolution(hex_cell) < 10:
        hex_cell = h3.cell_to_center_child(hex_cell, 10)
    elif h3.get_resolution(hex_cell) > 10:
        hex_cell = h3.cell_to_parent(hex_cell, 10)
    return named.get(hex_cell)


def alerts_for_role(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, ops: OpsDB, role: Role
) -> pl.DataFrame:
    """Every alert the role may see (alerts on internal indicators need a staff role),
    with its district (`con` is the snapshot that knows the districts)."""
    frame = list_alerts(ops)
    hidden = [
        n for n, s in registry.specs.items() if not can_see(role, visibility=s.spec.visibility)
    ]
    if hidden:
        frame = frame.filter(pl.col("indicator").is_null() | ~pl.col("indicator").is_in(hidden))
    named = _named_districts(con)
    districts = [
        _district(cell, named)
        if cell
        else place.removeprefix("district ")
        if kind == "district"
        else None
        for kind, place, cell in frame.select("place_kind", "place", "h3_hex").iter_rows()
    ]
    return frame.with_columns(pl.Series("district", districts, dtype=pl.String))


def filter_alerts(
    frame: pl.DataFrame,
    *,
    states: list[str] | None = None,
    theme: str | None = None,
    district: str | None = None,
) -> pl.DataFrame:
    """Alerts in `states` (all when None), of one theme and one district when given."""
    if states:
        frame = frame.filter(pl.col("state").is_in(states))
    if theme:
        frame = frame.filter(pl.col("theme") == theme)
    if district:
        frame = frame.filter(pl.col("district") == district)
    return frame


def severity_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Open alerts per severity, most severe first."""
    open_alerts = frame.filter(pl.col("state").is_in(list(OPEN_STATES)))
    counts = dict(open_alerts.group_by("severity").len().iter_rows())
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def alerts_provenance(con: duckdb.DuckDBPyConnection) -> Provenance:
    """Alerts are computed from every loaded source."""
    return provenance_for_tables(con, [], unit_label="alerts")


def alert_cells(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, *, resolution: int) -> CellMap:
    """Alerts per cell of the study area at `resolution` (zero where none), for the map.
    A district alert counts in every cell of its district."""
    cells = read_frame(
        con,
        "SELECT DISTINCT h3_hex(h3_parent(h3_cell, $r)) AS h3_hex FROM study_cells ORDER BY 1",
        {"r": resolution},
    )
    counts: dict[str, int] = {}
    for hex_cell in frame["h3_hex"].drop_nulls().to_list():
        own = h3.get_resolution(hex_cell)
        targets = (
            [h3.cell_to_parent(hex_cell, resolution)]
            if own >= resolution
            else h3.cell_to_children(hex_cell, resolution)
        )
        for target in targets:
            counts[target] = counts.get(target, 0) + 1
    hexes = sorted(set(cells["h3_hex"].to_list()) | set(counts))
    table = pl.DataFrame({"h3_hex": hexes, "value": [float(counts.get(h, 0)) for h in hexes]})
    return CellMap(
        title="Alerts per cell",
        cells=table,
        unit_label="alerts",
        resolution=resolution,
        provenance=alerts_provenance(con),
    )


@dataclass(frozen=True)
class AlertDetail:
    """What lies behind one alert."""

    alert: dict[str, object]
    events: pl.DataFrame
    trend: pl.DataFrame = field(default_factory=pl.DataFrame)  # period/time, value, threshold
    trend_label: str = ""
    raw: pl.DataFrame = field(default_factory=pl.DataFrame)
    raw_label: str = ""


def alert_detail(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, alert_id: int, *, ops: OpsDB
) -> AlertDetail | None:
    """The alert's row, its audit trail (from `ops`) and the data behind it (from the
    snapshot `con`); None if not in `frame`."""
    rows = frame.filter(pl.col("id") == alert_id)
    if rows.is_empty():
        return None
    alert = rows.row(0, named=True)
    events = alert_trail(ops, alert_id)
    if alert["indicator"]:
        return AlertDetail(
            alert,
            events,
            _indicator_trend(con, alert),
            f"`{alert['indicator']}` at {alert['place']}, by period",
        )
    if alert["place_kind"] == "station":
        hourly, raw = _readings(con, alert)
        return AlertDetail(
            alert,
            events,
            hourly,
            f"Hourly means at {alert['place']}",
            raw,
            "Raw readings behind the alert",
        )
    if alert["place_kind"] == "source":
        sources = sources_catalogue(con).filter(pl.col("source_id") == alert["place_id"])
        return AlertDetail(alert, events, raw=sources, raw_label="The source's provenance")
    return AlertDetail(alert, events)


def _indicator_trend(con: duckdb.DuckDBPyConnection, alert: dict[str, object]) -> pl.DataFrame:
    cell = h3.str_to_int(str(alert["h3_hex"])) if alert["h3_hex"] else None
    trend = read_frame(
        con,
        "SELECT period, value FROM indicator_results "
        "WHERE indicator = $i AND h3_cell IS NOT DISTINCT FROM $c "
        "ORDER BY period",
        {"i": alert["indicator"], "c": cell},
    )
    return trend.with_columns(pl.lit(alert["threshold"], dtype=pl.Float64).alias("threshold"))


def _series_id(con: duckdb.DuckDBPyConnection, place_id: str) -> int | None:
    station, _, variable = place_id.rpartition("/")
    rows = con.execute(
        "SELECT series_id FROM sensor_series WHERE station_id = $s AND variable = $v",
        {"s": station, "v": variable},
    ).fetchall()
    return int(rows[0][0]) if rows else None


def _readings(
    con: duckdb.DuckDBPyConnection, alert: dict[str, object]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    series = _series_id(con, str(alert["place_id"]))
    if series is None or not has_table(con, "sensor_readings_hourly"):
        return pl.DataFrame(), pl.DataFrame()
    start = alert["started_at"] - MARGIN  # type: ignore[operator]
    end = (alert["ended_at"] or alert["started_at"]) + MARGIN  # type: ignore[operator]
    params = {"s": series, "a": start, "b": end}
    hourly = read_frame(
        con,
        "SELECT hour AS time, mean AS value, n FROM "
        "sensor_readings_hourly WHERE series_id = $s AND hour "
        "BETWEEN $a AND $b ORDER BY hour",
        params,
    )
    if alert["kind"] == "threshold":
        hourly = hourly.with_columns(
            pl.lit(alert["threshold"], dtype=pl.Float64).alias("threshold")
        )
    raw = read_frame(
        con,
        "SELECT station_id, variable, unit, time, value, quality "
        "FROM sensor_readings WHERE series_id = $s AND time "
        "BETWEEN $a AND $b ORDER BY time",
        params,
    )
    return hourly, raw


RULE_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "kind": pl.String(),
    "status": pl.String(),
    "message": pl.String(),
    "places": pl.Int64(),
    "episodes": pl.Int64(),
    "open_alerts": pl.Int64(),
    "evaluated_at": pl.Datetime("us", "UTC"),
}


def rule_status(ops: OpsDB) -> pl.DataFrame:
    """Every rule at its last evaluation: ok or waiting (and why), episodes, open alerts."""
    with ops.read() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(alert_rule_status.select().order_by(alert_rule_status.c.rule))
        ]
    return pl.DataFrame(rows, schema=RULE_STATUS_SCHEMA, orient="row")


def alert_map(con: duckdb.DuckDBPyConnection, registry: Registry, *, ops: OpsDB, role: Role,
              states: tuple[str, ...], theme: str | None, district: str | None,
              resolution: int) -> CellMap:
    """Alerts `role` may see per cell, filtered like the list."""
    frame = filter_alerts(alerts_for_role(con, registry, ops=ops, role=role),
                          states=list(states), theme=theme, district=district)
    return alert_cells(con, frame, resolution=resolution)


def alert_detail_for(con: duckdb.DuckDBPyConnection, registry: Registry, alert_id: int, *,
                     ops: OpsDB, role: Role) -> AlertDetail | None:
    """The trail and the data behind one alert `role` may see (None otherwise)."""
    return alert_detail(con, alerts_for_role(con, registry, ops=ops, role=role), alert_id,
                        ops=ops)


def rules_evaluated(con: duckdb.DuckDBPyConnection, *, ops: OpsDB) -> pl.DataFrame:
    """`rule_status`, served like the other views."""
    del con  # the rules' status lives in the operational database only
    return rule_status(ops)


def assignees(con: duckdb.DuckDBPyConnection, *, ops: OpsDB) -> list[str]:
    """The people an alert can be assigned to."""
    from observatory.people import assignees as people_assignees

    del con
    return people_assignees(ops)
