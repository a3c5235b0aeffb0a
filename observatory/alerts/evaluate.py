"""Evaluate the rules on an analytical snapshot and merge the alerts into the operational
database, idempotently.

Conditions, episodes and messages are computed in DuckDB and Polars on a read-only
connection to the snapshot; then ONE transaction in the operational database inserts new
episodes, resolves ended or vanished ones, refreshes figures, records each rule's status
and queues notifications (observatory/alerts/merge.py, outbox.py). After the commit the
outbox is delivered. The build calls `evaluate_published_step` once it has published a
snapshot; `observatory alerts evaluate` calls `evaluate_published`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
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
from observatory.alerts.incremental import (
    Since,
    feed_kind,
    keep,
    reading_rows,
    silent_rows,
    since_parent,
)
from observatory.alerts.lifecycle import AlertActionError
from observatory.alerts.loader import RuleSet, alerts_dir, load_rules
from observatory.alerts.merge import merge_episodes, record_rule_status
from observatory.alerts.outbox import deliver_pending, queue_notifications
from observatory.alerts.places import PlaceBook
from observatory.alerts.upsert import describe_episodes
from observatory.opsdb import OpsDB, ops_database
from observatory.registry import Registry
from observatory.store import connect_read

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
        return (
            f"{self.rules} alert rules evaluated ({waiting} waiting): {self.episodes} "
            f"episodes, {self.inserted} new alerts, {self.resolved} resolved, "
            f"{self.open_alerts} open, {self.notifications} notifications sent "
            f"in {self.seconds:.2f} s"
        )


def _conditions(
    con: duckdb.DuckDBPyConnection,
    items: list[Compiled],
    registry: Registry,
    book: PlaceBook,
    now: datetime,
    since: Since | None = None,
) -> None:
    con.execute(COND_SQL)
    by_kind: dict[str, list[Compiled]] = {}
    for item in items:
        by_kind.setdefault(feed_kind(item), []).append(item)
    indicator_items = [
        i for k in ("threshold", "target_breach", "worsening") for i in by_kind.get(k, [])
    ]
    indicator_conditions(con, indicator_items, registry)
    if since is None:
        reading_conditions(con, by_kind.get("readings", []))
    else:  # after an append: reuse the parent snapshot's rows before its first new day
        reading_rows(con, by_kind.get("readings", []), since)
    book.sources = stale_conditions(con, by_kind.get("stale_source", []), now=now)
    if since is None:
        silent_conditions(con, by_kind.get("sensor_silent", []), now=now)
    else:
        silent_rows(con, by_kind.get("sensor_silent", []), since, now=now)
    book.areas = anomaly_conditions(con, by_kind.get("anomaly", []), registry)


def _params(items: list[Compiled]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rule_id": [i.rule_id for i in items],
            "pending": [i.rule.pending for i in items],
            "keep_firing": [i.rule.keep_firing for i in items],
            "sign": [i.sign for i in items],
        },
        schema={
            "rule_id": pl.Int32,
            "pending": pl.Int64,
            "keep_firing": pl.Int64,
            "sign": pl.Float64,
        },
    )


def _chosen(ruleset: RuleSet, rules: Collection[str] | None) -> list[Compiled]:
    names = list(ruleset.rules) if rules is None else [n for n in ruleset.rules if n in rules]
    unknown = sorted(set(rules or ()) - set(ruleset.rules))
    if unknown:
        raise AlertActionError(
            f"unknown alert rule(s) {', '.join(unknown)} in "
            f"{ruleset.folder}; `observatory alerts rules validate` "
            "lists them."
        )
    return [
        Compiled(
            rule_id=index, rule=ruleset.rules[name], place_kind=ruleset.rules[name].place or "whole"
        )
        for index, name in enumerate(names)
    ]


def _statuses(
    items: list[Compiled], episodes: pl.DataFrame, now: datetime
) -> list[dict[str, object]]:
    counts = episodes.group_by("rule_id").agg(
        pl.len().alias("episodes"), pl.col("place").n_unique().alias("places")
    )
    per_rule = {row["rule_id"]: row for row in counts.iter_rows(named=True)}
    return [
        {
            "rule": i.rule.name,
            "kind": i.rule.kind,
            "status": i.status,
            "message": i.message,
            "places": per_rule.get(i.rule_id, {}).get("places", 0),
            "episodes": per_rule.get(i.rule_id, {}).get("episodes", 0),
            "open_alerts": 0,
            "evaluated_at": now,
        }
        for i in items
    ]


def evaluate(
    con: duckdb.DuckDBPyConnection,
    ruleset: RuleSet,
    registry: Registry,
    *,
    ops: OpsDB,
    rules: Collection[str] | None = None,
    now: datetime | None = None,
    send: bool = True,
    store: Path | None = None,
    since: Since | None = None,
) -> Evaluation:
    """Evaluate `ruleset` (only the rules named in `rules` when given: only their alerts
    may be resolved) on the store connection `con` and merge the alerts into `ops`.

    With `store`, the feed rules' condition rows are kept beside the snapshot; `since`
    (observatory/alerts/incremental.py) reuses the parent snapshot's rows after an append.
    """
    started, now = time.perf_counter(), now or datetime.now(UTC)
    items = _chosen(ruleset, rules)
    book = PlaceBook(con)
    _conditions(con, items, registry, book, now, since)
    if store is not None:
        keep(store, con, items, since)
    episodes = episodes_from_conditions(con, _params(items))
    con.execute("DROP TABLE IF EXISTS _alert_cond")
    frame = describe_episodes(con, episodes, items, book)
    statuses = _statuses(items, episodes, now)
    with ops.write() as conn:
        ops.serialize(conn, "observatory.alerts.evaluate")
        changes = merge_episodes(
            conn, frame, now=now, evaluated=[i.rule.name for i in items if i.status == "ok"]
        )
        open_alerts = record_rule_status(conn, statuses, replace_all=rules is None)
        queue_notifications(conn, changes.to_notify, ruleset, now=now)
    result = Evaluation(
        rules=len(items),
        episodes=episodes.height,
        inserted=changes.inserted,
        resolved=changes.resolved,
        statuses=statuses,
        open_alerts=open_alerts,
    )
    result.notifications = deliver_pending(ops, ruleset) if send else 0
    result.seconds = time.perf_counter() - started
    return result


def evaluate_published(
    store: Path,
    registry: Registry,
    ruleset: RuleSet | None = None,
    *,
    rules: Collection[str] | None = None,
    now: datetime | None = None,
    send: bool = True,
    changed_since: datetime | None = None,
) -> Evaluation:
    """Evaluate the rules (default: alerts/) on the store's current snapshot and merge the
    alerts into the store's operational database. `changed_since`: the earliest reading an
    append added (the snapshot's hourly rows before its day are its parent's)."""
    ruleset = ruleset or load_rules(alerts_dir(), registry=registry)
    con = connect_read(store)
    try:
        since = since_parent(store, con, changed_since) if changed_since else None
        return evaluate(
            con, ruleset, registry, ops=ops_database(store), rules=rules, now=now, send=send,
            store=store, since=since,
        )
    finally:
        con.close()


def evaluate_published_step(
    store: Path, *, progress: Progress, indicators: Path | None = None
) -> None:
    """The AFTER_PUBLISH build step: evaluate the rules of alerts/ on the snapshot just
    published, against the indicator folder the build used (valid rules; problems are
    reported, not fatal, as for indicators)."""
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.settings import indicators_dir

    con = connect_read(store)
    try:
        registry = load_registry(indicators_dir(indicators), known_inputs=known_datasets(con))
    finally:
        con.close()
    ruleset = load_rules(alerts_dir(), registry=registry)
    for problem in ruleset.problems:
        progress(f"alert rule problem: {problem}")
    progress(evaluate_published(store, registry, ruleset).summary())


def load_checked_rules(folder: Path | None, registry: Registry) -> RuleSet:
    """The rules of `folder` (default alerts/), raising AlertRuleError on any problem."""
    ruleset = load_rules(folder or alerts_dir(), registry=registry)
    ruleset.raise_if_problems()
    return ruleset
