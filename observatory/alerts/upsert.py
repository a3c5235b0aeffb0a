"""Write episodes into `alerts`: insert new ones, resolve cleared ones, log every change."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import polars as pl

from observatory.alerts.conditions import Compiled
from observatory.alerts.places import PlaceBook

SYSTEM = "system"
_SCHEMA = {
    "rule": pl.String, "kind": pl.String, "severity": pl.String, "owner_team": pl.String,
    "theme": pl.String, "indicator": pl.String, "variable": pl.String,
    "place_kind": pl.String, "place_id": pl.String, "place_label": pl.String,
    "h3_cell": pl.Int64, "lat": pl.Float64, "lon": pl.Float64,
    "started_at": pl.Datetime("us", "UTC"), "fired_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"), "value": pl.Float64, "peak": pl.Float64,
    "threshold": pl.Float64,
    "unit": pl.String, "slots": pl.Int64, "message": pl.String,
}


@dataclass
class Changes:
    """What `apply_episodes` changed, and which alerts to notify about."""

    inserted: int = 0
    resolved: int = 0
    to_notify: list[tuple[int, str]] = field(default_factory=list)  # (alert_id, event)


_COLUMN_OF = {"place": "place_label", "value": "value", "peak": "peak",
              "threshold": "threshold", "started_at": "started_at", "ended_at": "ended_at",
              "rule": "rule", "label": "label", "unit": "unit", "indicator": "indicator",
              "variable": "variable", "severity": "severity", "owner": "owner_team"}
_SIMPLE_SPEC = re.compile(r"^(\.\d+)?[fd]?$")


def _python_messages(template: str, part: pl.DataFrame) -> list[str]:
    names = list(_COLUMN_OF)
    out = []
    for values in zip(*(part[_COLUMN_OF[n]].to_list() for n in names), strict=True):
        fields = dict(zip(names, values, strict=True))
        try:
            out.append(template.format(**fields))
        except (ValueError, TypeError, KeyError):  # e.g. a number format on a missing value
            out.append(f"{fields['label']} at {fields['place']}: {fields['value']} "
                       f"{fields['unit'] or ''}")
    return out


def _sql_template(template: str) -> tuple[str, list[str]] | None:
    """The template in DuckDB's `format` syntax (positional) and its columns, when every
    field is a plain text or a number with a simple format; None otherwise."""
    pieces, columns = [], []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if conversion or name in ("started_at", "ended_at") or not _SIMPLE_SPEC.match(spec):
            return None
        if spec.endswith("d"):  # integers: round first, as Python would refuse floats
            return None
        pieces.append("{" + (":" + spec if spec else "") + "}")
        columns.append(_COLUMN_OF[name])
    return "".join(pieces), columns


def render_messages(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.Series:
    """Each row's rule template rendered: one DuckDB `format` per distinct template where
    it can, Python's str.format otherwise (and for rows with a missing value)."""
    indexed = frame.with_row_index("_row")
    messages: list[str | None] = [None] * frame.height
    for (template,), part in indexed.partition_by("template", as_dict=True).items():
        rows = part["_row"].to_list()
        sql = _sql_template(str(template))
        rendered: list[str | None] = [None] * part.height
        if sql is not None:
            fmt, columns = sql
            args = "".join(f", c{i}" for i in range(len(columns)))
            con.register("_alert_msg", part.select(
                pl.col(c).alias(f"c{i}") for i, c in enumerate(columns)).to_arrow())
            try:
                rendered = [r[0] for r in con.execute(
                    f"SELECT format($fmt{args}) FROM _alert_msg", {"fmt": fmt}).fetchall()]
            finally:
                con.unregister("_alert_msg")
        missing = [i for i, text in enumerate(rendered) if text is None]
        if missing:
            fallback = _python_messages(str(template), part[missing])
            for i, text in zip(missing, fallback, strict=True):
                rendered[i] = text
        for row, text in zip(rows, rendered, strict=True):
            messages[row] = text
    return pl.Series("message", messages, dtype=pl.String)


def _place_frame(pairs: pl.DataFrame, book: PlaceBook) -> pl.DataFrame:
    """Place attributes of each distinct (place_kind of the rule, place)."""
    rows = []
    for kind, place in pairs.iter_rows():
        where = book.place(kind, place)
        rows.append({"rule_place_kind": kind, "place": place, "place_kind": where.kind,
                     "place_id": where.id, "place_label": where.label,
                     "h3_cell": where.h3_cell, "lat": where.lat, "lon": where.lon})
    return pl.DataFrame(rows, schema={
        "rule_place_kind": pl.String, "place": pl.Int64, "place_kind": pl.String,
        "place_id": pl.String, "place_label": pl.String, "h3_cell": pl.Int64,
        "lat": pl.Float64, "lon": pl.Float64})


def describe_episodes(con: duckdb.DuckDBPyConnection, episodes: pl.DataFrame,
                      items: list[Compiled], book: PlaceBook) -> pl.DataFrame:
    """Episodes as alert rows: rule attributes, place, rendered message."""
    if episodes.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    rules = pl.DataFrame([{
        "rule_id": i.rule_id, "rule": i.rule.name, "kind": i.rule.kind,
        "severity": i.rule.severity, "owner_team": i.rule.owner, "theme": i.theme,
        "indicator": i.rule.indicator, "variable": i.rule.variable, "unit": i.unit,
        "rule_place_kind": i.place_kind, "label": i.rule.title, "template": i.rule.message}
        for i in items], schema_overrides={"rule_id": episodes.schema["rule_id"],
                                           "indicator": pl.String, "variable": pl.String})
    frame = episodes.with_columns(pl.col("place").cast(pl.Int64)).join(rules, on="rule_id")
    places = _place_frame(frame.select("rule_place_kind", "place").unique(), book)
    frame = frame.join(places, on=["rule_place_kind", "place"])
    frame = frame.with_columns(render_messages(con, frame))
    return frame.select([pl.col(name).cast(dtype) for name, dtype in _SCHEMA.items()])


_INSERT_SQL = """
INSERT INTO alerts
SELECT (SELECT coalesce(max(alert_id), 0) FROM alerts)
           + row_number() OVER (ORDER BY n.started_at, n.rule, n.place_id),
       n.rule, n.kind, n.severity, n.owner_team, n.theme, n.indicator, n.variable,
       n.place_kind, n.place_id, n.place_label, n.h3_cell, n.lat, n.lon, n.started_at,
       n.fired_at, n.ended_at, n.value, n.peak, n.threshold, n.unit, n.slots, n.message,
       CASE WHEN n.ended_at IS NULL THEN 'firing' ELSE 'resolved' END,
       NULL, NULL, NULL, NULL,
       CASE WHEN n.ended_at IS NULL THEN NULL ELSE $system END, n.ended_at, $now, $now
FROM _alert_new AS n
ANTI JOIN alerts AS a
  ON a.rule = n.rule AND a.place_id = n.place_id AND a.started_at = n.started_at
"""
_EVENTS_OF_NEW_SQL = """
INSERT INTO alert_events
SELECT alert_id, $now, 'fired', $system, NULL, 'firing',
       'episode began ' || strftime(started_at, '%Y-%m-%d %H:%M UTC')
FROM alerts WHERE created_at = $now AND alert_id > $before
UNION ALL
SELECT alert_id, $now, 'auto_resolved', $system, 'firing', 'resolved',
       'condition cleared ' || strftime(ended_at, '%Y-%m-%d %H:%M UTC')
FROM alerts WHERE created_at = $now AND alert_id > $before AND state = 'resolved'
"""
# Open alerts of rules evaluated now whose episode ended or no longer exists.
_CLEARED_SQL = """
SELECT a.alert_id, a.state, n.ended_at, n.rule IS NULL AS vanished
FROM alerts AS a
LEFT JOIN _alert_new AS n
  ON a.rule = n.rule AND a.place_id = n.place_id AND a.started_at = n.started_at
WHERE a.state <> 'resolved' AND a.rule IN (SELECT unnest($rules))
  AND (n.rule IS NULL OR n.ended_at IS NOT NULL)
"""
_REFRESH_SQL = """
UPDATE alerts AS a SET value = n.value, peak = n.peak, slots = n.slots, message = n.message,
       place_label = n.place_label, updated_at = $now
FROM _alert_new AS n
WHERE a.rule = n.rule AND a.place_id = n.place_id AND a.started_at = n.started_at
  AND a.state <> 'resolved' AND n.ended_at IS NULL
  AND (a.value IS DISTINCT FROM n.value OR a.slots IS DISTINCT FROM n.slots
       OR a.message IS DISTINCT FROM n.message)
"""


def apply_episodes(con: duckdb.DuckDBPyConnection, episodes: pl.DataFrame,
                   items: list[Compiled], book: PlaceBook, *, now: datetime) -> Changes:
    """Bring `alerts` in line with the episodes of the rules that could run."""
    evaluated = [i.rule.name for i in items if i.status == "ok"]
    frame = describe_episodes(con, episodes, items, book)
    before = con.execute("SELECT coalesce(max(alert_id), 0) FROM alerts").fetchall()[0][0]
    con.register("_alert_new", frame.to_arrow())
    try:
        con.execute(_INSERT_SQL, {"now": now, "system": SYSTEM})
        con.execute(_EVENTS_OF_NEW_SQL, {"now": now, "system": SYSTEM, "before": before})
        new = con.execute("SELECT alert_id, state FROM alerts WHERE alert_id > $b "
                          "ORDER BY 1", {"b": before}).fetchall()
        cleared = con.execute(_CLEARED_SQL, {"rules": evaluated}).fetchall()
        con.execute(_REFRESH_SQL, {"now": now})
    finally:
        con.unregister("_alert_new")
    for alert_id, state, ended_at, vanished in cleared:
        comment = ("condition no longer holds" if vanished
                   else f"condition cleared {ended_at:%Y-%m-%d %H:%M UTC}")
        auto_resolve(con, alert_id, state_before=state, ended_at=ended_at or now,
                     comment=comment, now=now)
    changes = Changes(inserted=len(new), resolved=len(cleared))
    changes.to_notify = ([(a, "fired") for a, state in new if state == "firing"]
                         + [(row[0], "resolved") for row in cleared])
    return changes


def auto_resolve(con: duckdb.DuckDBPyConnection, alert_id: int, *, state_before: str,
                 ended_at: datetime, comment: str, now: datetime) -> None:
    """Resolve one open alert because its condition cleared."""
    con.execute("UPDATE alerts SET state = 'resolved', ended_at = $ended, resolved_by = $s, "
                "resolved_at = $now, updated_at = $now WHERE alert_id = $id",
                {"ended": ended_at, "s": SYSTEM, "now": now, "id": alert_id})
    con.execute("INSERT INTO alert_events VALUES ($id, $now, 'auto_resolved', $s, $before, "
                "'resolved', $comment)", {"id": alert_id, "now": now, "s": SYSTEM,
                                          "before": state_before, "comment": comment})
