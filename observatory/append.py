"""Append a file to a loaded source and bring up to date only what depends on it.

`observatory ingest timeseries FILE --source ID --append` (and `observatory watch`) land
here: the connector adds the file's new rows (high-volume readings go to the store's lake
as new Parquet files, so the store is not copied), then, in the same write session, only
the indicators whose inputs changed are recomputed, only for the years the new rows fall
in, with their forecasts; once the snapshot is current, only the alert rules that read
what changed are evaluated. Appending the same file again changes nothing.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from observatory import lake
from observatory.alerts.evaluate import evaluate_published
from observatory.alerts.loader import RuleSet, alerts_dir, load_rules
from observatory.connectors import AppendOutcome, Progress, connector_named, silent_progress
from observatory.datasets import known_datasets
from observatory.errors import InputError, SourceFileError
from observatory.forecasting.step import forecast_step
from observatory.registry import Registry, load_registry
from observatory.registry.engine import PeriodFilter, compute_all
from observatory.registry.loader import definitions_signature
from observatory.settings import existing_store_path, indicators_dir
from observatory.store import file_sha256, now_utc, write_session

# Inputs whose rows carry a time: an append recomputes only the years it touched.
PERIOD_COLUMNS = {**lake.TIME_COLUMNS, "sensor_readings": "time"}  # hourly, daily too
# Rule kinds that watch feeds rather than indicators: evaluated after every append.
FEED_RULE_KINDS = ("stale_source", "sensor_silent")


@dataclass
class AppendReport:
    """What one append did, for the command line and the benchmark."""

    source_id: str
    path: str
    rows_added: int = 0
    overlapping: int = 0
    indicators: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    alerts: str | None = None
    issues: list[str] = field(default_factory=list)
    unchanged: str | None = None  # why nothing changed, when nothing did
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people."""
        if self.unchanged:
            return f"{self.path}: nothing changed ({self.unchanged})"
        return (f"appended {self.rows_added} rows to {self.source_id} ({self.overlapping} "
                f"already loaded, skipped); recomputed {len(self.indicators)} indicators for "
                f"{', '.join(self.years) or 'no period'} and {len(self.rules)} alert rules "
                f"in {self.seconds:.2f} s")


class _NothingNew(Exception):
    def __init__(self, outcome: AppendOutcome | None) -> None:
        super().__init__("no new rows")
        self.outcome = outcome


def source_row(con: duckdb.DuckDBPyConnection, source_id: str, *, kind: str) -> dict[str, Any]:
    """The provenance row of the source to append to; an error listing the sources of
    that kind when it does not exist."""
    kind = kind.replace("-", "_")  # connector `service-requests` records `service_requests`
    cursor = con.execute("SELECT * FROM sources WHERE source_id = $s", {"s": source_id})
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        known = [r[0] for r in con.execute("SELECT source_id FROM sources WHERE type = $t "
                                           "ORDER BY 1", {"t": kind}).fetchall()]
        raise InputError(f"no source `{source_id}` to append to; the {kind} sources are: "
                         f"{', '.join(known) or 'none'} (`observatory datasets list`).")
    row = dict(zip(names, rows[0], strict=True))
    if row["type"] != kind:
        raise InputError(f"source `{source_id}` is a {row['type']} source, not {kind}.")
    row["options"] = json.loads(row["options"] or "{}")
    return row


def _already_appended(con: duckdb.DuckDBPyConnection, source_id: str, sha256: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM source_appends WHERE source_id = $s "
                            "AND sha256 = $h", {"s": source_id, "h": sha256}).fetchall()[0][0])


def _record(con: duckdb.DuckDBPyConnection, source: dict[str, Any], outcome: AppendOutcome,
            *, path: Path, sha256: str) -> None:
    issues = json.loads(source["issues"] or "[]") + outcome.issues
    as_of = max((t for t in (source["data_as_of"], outcome.last_time) if t is not None),
                default=None)
    con.execute("UPDATE sources SET row_counts = $c, data_as_of = $a, issues = $i "
                "WHERE source_id = $s",
                {"c": json.dumps(outcome.row_counts, sort_keys=True), "a": as_of,
                 "i": json.dumps(issues), "s": source["source_id"]})
    con.execute("INSERT INTO source_appends VALUES ($s, $p, $h, $n, $o, $at)",
                {"s": source["source_id"], "p": str(path), "h": sha256,
                 "n": outcome.rows_added, "o": outcome.overlapping, "at": now_utc()})


# A feed process appends again and again: what is loaded from the definition folders is
# kept while their files are unchanged.
@functools.lru_cache(maxsize=4)
def _registry(folder: Path, signature: tuple[tuple[str, int], ...],
              known: frozenset[str]) -> Registry:
    del signature  # part of the key only
    return load_registry(folder, known_inputs=set(known))


RegistryKey = tuple[Path, tuple[tuple[str, int], ...], frozenset[str]]


@functools.lru_cache(maxsize=4)
def _rules(folder: Path, signature: tuple[tuple[str, int], ...],
           registry_key: RegistryKey) -> RuleSet:
    del signature
    return load_rules(folder, registry=_registry(*registry_key))


def registry_key(con: duckdb.DuckDBPyConnection, indicators: Path | None) -> RegistryKey:
    """What the registry is loaded from: the folder, its files' signature, known inputs."""
    folder = indicators_dir(indicators)
    return folder, definitions_signature(folder), frozenset(known_datasets(con))


def dependent_indicators(registry: Registry, tables: tuple[str, ...]) -> list[str]:
    """The indicators that read any of `tables`."""
    return sorted(name for name, loaded in registry.specs.items()
                  if set(loaded.spec.inputs) & set(tables))


def _recompute(con: duckdb.DuckDBPyConnection, outcome: AppendOutcome, report: AppendReport,
               *, key: RegistryKey, progress: Progress) -> Registry:
    registry = _registry(*key)
    report.indicators = dependent_indicators(registry, outcome.tables)
    if not report.indicators or outcome.first_time is None or outcome.last_time is None:
        return registry
    window = PeriodFilter(outcome.first_time.year, outcome.last_time.year, PERIOD_COLUMNS)
    report.years = sorted(window.years)
    compute_all(con, registry, names=report.indicators, window=window, progress=progress)
    forecast_step(con, registry, names=report.indicators, progress=progress)
    return registry


def _evaluate(store: Path, key: RegistryKey, outcome: AppendOutcome,
              report: AppendReport) -> None:
    folder, registry = alerts_dir(), _registry(*key)
    ruleset = _rules(folder, definitions_signature(folder), key)
    report.rules = sorted(
        name for name, rule in ruleset.rules.items()
        if rule.indicator in report.indicators or rule.variable in outcome.variables
        or rule.kind in FEED_RULE_KINDS)
    if report.rules:
        report.alerts = evaluate_published(store, registry, ruleset, rules=report.rules,
                                           changed_since=outcome.first_time).summary()


def append_file(store: Path, kind: str, path: Path, *, source_id: str,
                options: Mapping[str, object] | None = None, indicators: Path | None = None,
                progress: Progress = silent_progress) -> AppendReport:
    """Append `path` to the loaded source `source_id` and update what depends on it."""
    started = time.perf_counter()
    store = existing_store_path(store)
    report = AppendReport(source_id=source_id, path=str(path))
    connector = connector_named(kind)
    if connector.append is None:
        raise InputError(f"the {kind} connector cannot append; load the file as a whole.")
    if not path.is_file():
        raise SourceFileError(f"{path}: not found.")
    sha256 = file_sha256(path)
    try:
        with write_session(store, label=f"append {source_id}") as con:
            if _already_appended(con, source_id, sha256):
                report.unchanged = f"this file was already appended to {source_id}"
                raise _NothingNew(None)
            source = source_row(con, source_id, kind=kind)
            outcome = connector.append(con, path, progress, dict(options or {}), source)
            report.rows_added, report.overlapping = outcome.rows_added, outcome.overlapping
            report.issues = outcome.issues
            if not outcome.rows_added:
                raise _NothingNew(outcome)
            _record(con, source, outcome, path=path, sha256=sha256)
            key = registry_key(con, indicators)
            _recompute(con, outcome, report, key=key, progress=progress)
    except _NothingNew:
        report.unchanged = (report.unchanged or
                            f"every row of it is already loaded ({report.overlapping} rows)")
        report.seconds = time.perf_counter() - started
        return report
    _evaluate(store, key, outcome, report)
    report.seconds = time.perf_counter() - started
    return report
