"""Incremental conditions of the feed rules (thresholds on readings, silent sensors).

Evaluating these rules means walking every hourly row of every series. After an append,
though, only the rows from the day of its earliest new reading on have changed. Every
evaluation keeps the condition rows of these rules (the breaching slots and each place's
latest one) beside the snapshot it read (`<store>.d/alert_conditions/<snapshot>.parquet`).
An evaluation after an append reuses the rows of the snapshot the append started from
for everything before that day, computes the rest, and gets exactly the rows a full
evaluation would give, so episodes, alerts and notifications are the same:

- thresholds on readings: breaching hours and days before the day are kept as they were;
  hours and days from it on are computed; each place's latest slot is then recomputed
  over both;
- silent sensors: a slot is a series' n-th reading hour and its silence lasts until the
  next one, so the rows before each series' last reading hour before the day are kept,
  and from that reading on they are computed with their numbers shifted by the count of
  earlier hours (the silence after the newest reading always runs until now).

Rules whose definition changed since (another fingerprint), or a snapshot without kept
rows, are evaluated in full.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from observatory.alerts.conditions import Compiled, reading_conditions
from observatory.alerts.feeds import SILENT_ROWS, silent_conditions
from observatory.snapshots import list_snapshots, store_dir
from observatory.store import rows_between

FEED_KINDS = ("readings", "sensor_silent")
COLUMNS = ("rule_id", "place", "slot", "slot_start", "slot_end", "value", "threshold",
           "breach", "latest")


@dataclass(frozen=True)
class Since:
    """Hourly rows before `day` (UTC midnight) are as they were in the parent snapshot,
    whose condition rows are `rows` (rule, fingerprint and the `_alert_cond` columns)."""

    day: datetime
    rows: pl.DataFrame
    parts: dict[tuple[str, str], pl.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:  # the kept rows split once per rule and fingerprint
        self.parts.update({(str(r), str(f)): part for (r, f), part in self.rows.partition_by(
            "rule", "fingerprint", as_dict=True).items()})

    def cached(self, item: Compiled) -> pl.DataFrame | None:
        """The kept rows of one rule (with its id now), or None if it changed since."""
        part = self.parts.get((item.rule.name, fingerprint(item)))
        if part is None:  # changed since, or nothing kept: evaluate it in full
            return None
        return part.drop("rule", "fingerprint").with_columns(
            pl.lit(item.rule_id, dtype=pl.Int32).alias("rule_id"))


def feed_kind(item: Compiled) -> str:
    """`readings` for thresholds on sensor readings, else the rule's kind."""
    return "readings" if item.rule.kind == "threshold" and item.rule.variable else item.rule.kind


def fingerprint(item: Compiled) -> str:
    """Changes when anything in the rule's definition changes."""
    return hashlib.sha256(item.rule.model_dump_json().encode()).hexdigest()[:16]


def _folder(store: Path) -> Path:
    return store_dir(store) / "alert_conditions"


def snapshot_ids(con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    """(this snapshot's id, the id of the snapshot it was made from)."""
    meta = dict(con.execute("SELECT key, value FROM store_meta WHERE key IN "
                            "('snapshot_id', 'snapshot_parent')").fetchall())
    return meta.get("snapshot_id"), meta.get("snapshot_parent")


def since_parent(store: Path, con: duckdb.DuckDBPyConnection,
                 first_time: datetime | None) -> Since | None:
    """What an evaluation after an append may reuse, or None (evaluate in full)."""
    _, parent = snapshot_ids(con)
    path = _folder(store) / f"{parent}.parquet"
    if first_time is None or parent is None or not path.exists():
        return None
    day = first_time.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = pl.read_parquet(path).with_columns(
        pl.col("slot_start", "slot_end").dt.convert_time_zone("UTC"))
    return Since(day=day - timedelta(days=1), rows=rows)  # a day's margin


def keep(store: Path, con: duckdb.DuckDBPyConnection, items: Iterable[Compiled],
         since: Since | None) -> None:
    """Keep the feed rules' condition rows beside the snapshot: those evaluated now, and
    the parent's rows of feed rules not evaluated now (their data did not change)."""
    snapshot, _ = snapshot_ids(con)
    if snapshot is None:
        return
    feed = {i.rule_id: i for i in items if feed_kind(i) in FEED_KINDS and i.status == "ok"}
    rows = con.sql("SELECT * FROM _alert_cond WHERE rule_id IN (SELECT unnest($ids))",
                   params={"ids": list(feed)}).pl()
    names = pl.DataFrame({"rule_id": list(feed), "rule": [i.rule.name for i in feed.values()],
                          "fingerprint": [fingerprint(i) for i in feed.values()]},
                         schema={"rule_id": pl.Int32, "rule": pl.String,
                                 "fingerprint": pl.String})
    frame = rows.with_columns(pl.col("rule_id").cast(pl.Int32),
                              pl.col("slot_start", "slot_end").dt.convert_time_zone("UTC")
                              ).join(names, on="rule_id")
    if since is not None:
        evaluated = {i.rule.name for i in feed.values()}
        carried = since.rows.filter(~pl.col("rule").is_in(sorted(evaluated)))
        frame = pl.concat([frame, carried.select(frame.columns)], how="vertical_relaxed")
    folder = _folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f".{snapshot}.{os.getpid()}.tmp"
    frame.write_parquet(temp)
    os.replace(temp, folder / f"{snapshot}.parquet")
    kept = {s.id for s in list_snapshots(store)}
    for old in folder.glob("*.parquet"):
        if old.stem not in kept:
            old.unlink(missing_ok=True)


def insert_cached(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame) -> None:
    """Add kept condition rows to `_alert_cond`."""
    if rows.is_empty():
        return
    con.register("_alert_kept", rows.select(COLUMNS).to_arrow())
    try:
        con.execute("INSERT INTO _alert_cond SELECT * FROM _alert_kept")
    finally:
        con.unregister("_alert_kept")


def relabel_latest(con: duckdb.DuckDBPyConnection, rule_ids: list[int]) -> None:
    """Recompute which slot is each place's latest, and drop rows that are neither
    breaching nor latest any more (a kept latest slot that newer data superseded)."""
    con.execute("""
        UPDATE _alert_cond AS c SET latest = (c.slot = m.last_slot)
        FROM (SELECT rule_id, place, max(slot) AS last_slot FROM _alert_cond
              WHERE rule_id IN (SELECT unnest($ids)) GROUP BY ALL) AS m
        WHERE c.rule_id = m.rule_id AND c.place = m.place""", {"ids": rule_ids})
    con.execute("DELETE FROM _alert_cond WHERE rule_id IN (SELECT unnest($ids)) "
                "AND NOT breach AND NOT latest", {"ids": rule_ids})


SILENT_SINCE_SQL = """
INSERT INTO _alert_cond
WITH base AS (SELECT * FROM _alert_silent_base),
h AS (
    SELECT r.rule_id, r.hours, v.series_id, v.hour,
           b.before_n - CASE WHEN b.prev_hour IS NULL THEN 0 ELSE 1 END
               + row_number() OVER (PARTITION BY r.rule_id, v.series_id ORDER BY v.hour)
               AS slot,
           lead(v.hour) OVER (PARTITION BY r.rule_id, v.series_id ORDER BY v.hour) AS next_hour
    FROM _alert_silent_rules AS r
    JOIN sensor_series AS s ON r.variable IS NULL OR s.variable = r.variable
    JOIN base AS b ON b.series_id = s.series_id
    JOIN sensor_readings_hourly AS v
      ON v.series_id = s.series_id AND v.hour >= coalesce(b.prev_hour, $day)
)
""" + SILENT_ROWS


def reading_rows(con: duckdb.DuckDBPyConnection, items: list[Compiled], since: Since) -> None:
    """Threshold rules on readings: kept rows before the day, computed rows from it."""
    cached = [(i, since.cached(i)) for i in items]
    reading_conditions(con, [i for i, rows in cached if rows is None])
    reuse = [(i, rows) for i, rows in cached if rows is not None]
    if not reuse:
        return
    with rows_between(con, {"sensor_readings_hourly": "hour"}, start=since.day):
        reading_conditions(con, [i for i, _ in reuse])
    for _, rows in reuse:
        insert_cached(con, rows.filter(pl.col("slot_start") < since.day))
    relabel_latest(con, [i.rule_id for i, _ in reuse])


def silent_rows(con: duckdb.DuckDBPyConnection, items: list[Compiled], since: Since, *,
                now: datetime) -> None:
    """Silent-sensor rules: kept rows before each series' last hour before the day,
    computed rows (renumbered) from it."""
    cached = [(i, since.cached(i)) for i in items]
    silent_conditions(con, [i for i, rows in cached if rows is None], now=now)
    reuse = [(i, rows) for i, rows in cached if rows is not None]
    if not reuse:
        return
    for item, _ in reuse:
        item.place_kind, item.unit, item.theme = "station", "hours", item.rule.theme or "data"
        item.threshold = item.rule.hours
    rules = pl.DataFrame([{"rule_id": i.rule_id, "variable": i.rule.variable,
                           "hours": float(i.rule.hours or 0)} for i, _ in reuse],
                         schema={"rule_id": pl.Int32, "variable": pl.String,
                                 "hours": pl.Float64})
    # each series' hours before the day and its last one: one pass over the hourly rows
    base = con.sql("SELECT series_id, count(*) FILTER (WHERE hour < $day) AS before_n, "
                   "max(hour) FILTER (WHERE hour < $day) AS prev_hour "
                   "FROM sensor_readings_hourly GROUP BY series_id",
                   params={"day": since.day}).pl()
    con.register("_alert_silent_rules", rules.to_arrow())
    con.register("_alert_silent_base", base.to_arrow())
    try:
        con.execute(SILENT_SINCE_SQL, {"day": since.day, "now": now})
    finally:
        con.unregister("_alert_silent_rules")
        con.unregister("_alert_silent_base")
    counts = base.select(pl.col("series_id").alias("place"), "before_n")
    for _, rows in reuse:
        kept = rows.join(counts, on="place").filter(pl.col("slot") < pl.col("before_n"))
        insert_cached(con, kept.drop("before_n"))
