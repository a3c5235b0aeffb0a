"""Evaluate every rule on the store and bring the alerts up to date, idempotently.

One alert per rule × place × episode: an episode already known is updated (or resolved
when its condition cleared), a new one is inserted, and an open alert whose condition no
longer holds is resolved automatically. Every change is written to `alert_events`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.alerts.anomaly import anomaly_conditions
from observatory.alerts.conditions import (
    COND_SQL,
    Compiled,
    indicator_conditions,
    reading_conditions,
)
from observatory.alerts.episodes import episodes_from_conditions
from observatory.alerts.feeds import silent_conditions, stale_conditions
from observatory.alerts.loader import RuleSet, alerts_dir, load_rules
from observatory.alerts.notify import deliver
from observatory.alerts.places import PlaceBook
from observatory.alerts.tables import ensure_alert_tables
from observatory.alerts.upsert import apply_episodes
from observatory.registry import Registry

Progress = Callable[[str], None]


@dataclass
class Evaluation:
    """What one evaluation did."""

    rules: int = 0
    episodes: int = 0
    inserted: int = 0
    resolved: int = 0
    open_alerts: int = 0
    notifications: int = 0
    seconds: float = 0.0
    statuses: list[dict[str, object]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        waiting = sum(1 for s in self.statuses if s["status"] != "ok")
        return (f"{self.rules} alert rules evaluated ({waiting} waiting): {self.episodes} "
                f"episodes, {self.inserted} new alerts, {self.resolved} resolved, "
                f"{self.open_alerts} open, {self.notifications} notifications sent "
                f"in {self.seconds:.2f} s")


def _conditions(con: duckdb.DuckDBPyConnection, items: list[Compiled], registry: Registry,
                book: PlaceBook, now: datetime) -> None:
    con.execute(COND_SQL)
    by_kind: dict[str, list[Compiled]] = {}
    for item in items:
        key = item.rule.kind
        if key == "threshold" and item.rule.variable:
            key = "readings"
        by_kind.setdefault(key, []).append(item)
    indicator_items = [i for k in ("threshold", "target_breach", "worsening")
                       for i in by_kind.get(k, [])]
    indicator_conditions(con, indicator_items, registry)
    reading_conditions(con, by_kind.get("readings", []))
    book.sources = stale_conditions(con, by_kind.get("stale_source", []), now=now)
    silent_conditions(con, by_kind.get("sensor_silent", []), now=now)
    book.areas = anomaly_conditions(con, by_kind.get("anomaly", []), registry)


def _params(items: list[Compiled]) -> pl.DataFrame:
    return pl.DataFrame({
        "rule_id": [i.rule_id for i in items], "pending": [i.rule.pending for i in items],
        "keep_firing": [i.rule.keep_firing for i in items], "sign": [i.sign for i in items],
    }, schema={"rule_id": pl.Int32, "pending": pl.Int64, "keep_firing": pl.Int64,
               "sign": pl.Float64})


def evaluate(con: duckdb.DuckDBPyConnection, ruleset: RuleSet, registry: Registry, *,
             now: datetime | None = None, send: bool = True) -> Evaluation:
    """Evaluate `ruleset` on the open store `con` (a write session) and update the alerts."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    ensure_alert_tables(con)
    items = [Compiled(rule_id=index, rule=rule, place_kind=rule.place or "whole")
             for index, rule in enumerate(ruleset.rules.values())]
    book = PlaceBook(con)
    _conditions(con, items, registry, book, now)
    episodes = episodes_from_conditions(con, _params(items))
    con.execute("DROP TABLE IF EXISTS _alert_cond")
    changes = apply_episodes(con, episodes, items, book, now=now)
    result = Evaluation(rules=len(items), episodes=episodes.height,
                        inserted=changes.inserted, resolved=changes.resolved)
    result.notifications = deliver(con, changes.to_notify, ruleset, now=now) if send else 0
    result.statuses = _record_status(con, items, episodes, now=now)
    result.open_alerts = con.execute("SELECT count(*) FROM alerts WHERE state <> 'resolved'"
                                     ).fetchall()[0][0]
    result.seconds = time.perf_counter() - started
    return result


def _record_status(con: duckdb.DuckDBPyConnection, items: list[Compiled],
                   episodes: pl.DataFrame, *, now: datetime) -> list[dict[str, object]]:
    counts = episodes.group_by("rule_id").agg(pl.len().alias("episodes"),
                                              pl.col("place").n_unique().alias("places"))
    per_rule = {row["rule_id"]: row for row in counts.iter_rows(named=True)}
    open_rows = dict(con.execute("SELECT rule, count(*) FROM alerts WHERE state <> 'resolved' "
                                 "GROUP BY 1").fetchall())
    rows = [{"rule": i.rule.name, "kind": i.rule.kind, "status": i.status,
             "message": i.message, "places": per_rule.get(i.rule_id, {}).get("places", 0),
             "episodes": per_rule.get(i.rule_id, {}).get("episodes", 0),
             "open_alerts": open_rows.get(i.rule.name, 0), "evaluated_at": now}
            for i in items]
    con.execute("DELETE FROM alert_rule_status")
    if rows:
        con.register("_alert_status", pl.DataFrame(rows, infer_schema_length=None).to_arrow())
        con.execute("INSERT INTO alert_rule_status SELECT rule, kind, status, message, places, "
                    "episodes, open_alerts, evaluated_at FROM _alert_status")
        con.unregister("_alert_status")
    return rows


def evaluate_step(con: duckdb.DuckDBPyConnection, registry: Registry, *,
                  progress: Progress) -> None:
    """The AFTER_COMPUTE build step: evaluate the rules of alerts/ (valid ones; problems
    are reported, not fatal, as for indicators)."""
    ruleset = load_rules(alerts_dir(), registry=registry)
    for problem in ruleset.problems:
        progress(f"alert rule problem: {problem}")
    progress(evaluate(con, ruleset, registry).summary())


def load_checked_rules(folder: Path | None, registry: Registry) -> RuleSet:
    """The rules of `folder` (default alerts/), raising AlertRuleError on any problem."""
    ruleset = load_rules(folder or alerts_dir(), registry=registry)
    ruleset.raise_if_problems()
    return ruleset
