"""`observatory bench alerts`: 1,000 rules over 1 M indicator values.

Ours: the whole `evaluate` (set-based SQL conditions and episodes, then the alerts written
to a store). Peer: the common approach, a Python loop per rule over a pandas frame that
filters the rule's values and walks each place's periods to find the episodes. Both must
find the same episodes.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb
import h3
import numpy as np
import pandas as pd
import polars as pl

from observatory.alerts.evaluate import evaluate
from observatory.alerts.loader import RuleSet
from observatory.alerts.spec import RuleSpec
from observatory.opsdb import ops_database
from observatory.registry import Registry
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.store import init_schema

PERIODS = 10
INDICATORS = 100
SEED = 6


def _cells(count: int) -> list[int]:
    centre = h3.latlng_to_cell(60.17, 24.94, 10)
    ring = 1
    while len(cells := h3.grid_disk(centre, ring)) < count:
        ring += 1
    return [h3.str_to_int(c) for c in sorted(cells)[:count]]


def values_frame(values: int, *, seed: int = SEED) -> pl.DataFrame:
    """`values` indicator results: INDICATORS indicators × PERIODS years × cells."""
    cells = _cells(max(values // (INDICATORS * PERIODS), 1))
    rng = np.random.default_rng(seed)
    n = INDICATORS * PERIODS * len(cells)
    indicator = np.repeat(np.arange(INDICATORS), PERIODS * len(cells))
    period = np.tile(np.repeat(np.arange(PERIODS), len(cells)), INDICATORS)
    cell = np.tile(np.array(cells, dtype=np.int64), INDICATORS * PERIODS)
    return pl.DataFrame(
        {
            "indicator": [f"bench_{i:03d}_count" for i in indicator],
            "period": (2015 + period).astype(str),
            "resolution": np.full(n, 10, dtype=np.int8),
            "h3_cell": cell,
            "value": rng.gamma(4.0, 10.0, n).round(2),
        }
    )


def _registry() -> Registry:
    registry = Registry(folder=Path("bench"))
    for i in range(INDICATORS):
        name = f"bench_{i:03d}_count"
        spec = IndicatorSpec(
            name=name,
            label=name,
            description="benchmark",
            theme="services",
            unit="count",
            direction="lower_is_better",
            inputs=["study_cells"],
            sql=f"{name}.sql",
            aggregation="sum",
            owner="bench",
            method={"standard": "bench"},
            targets=[{"value": 80.0, "by": "2030-12-31", "source": "bench"}],
        )
        registry.specs[name] = LoadedSpec(
            spec=spec, path=Path(f"{name}.yml"), query="", definition_hash="bench"
        )
    return registry


def bench_rules(count: int) -> RuleSet:
    """`count` rules: 60 % thresholds, 20 % target breaches, 20 % worsening, on cells."""
    ruleset = RuleSet(folder=Path("bench"))
    for i in range(count):
        common = {
            "name": f"rule_{i:04d}",
            "severity": "warning",
            "owner": "bench",
            "message": "{place}: {value:.1f}",
            "indicator": f"bench_{i % INDICATORS:03d}_count",
            "place": "cell",
        }
        if i % 5 < 3:
            rule = RuleSpec(kind="threshold", above=90.0 + (i % 7) * 5, **common)
        elif i % 5 == 3:
            rule = RuleSpec(kind="target_breach", **common)
        else:
            rule = RuleSpec(kind="worsening", periods=3, **common)
        ruleset.rules[rule.name] = rule
    return ruleset


def _runs(breach: np.ndarray) -> int:
    episodes, previous = 0, False
    for flag in breach:
        if flag and not previous:
            episodes += 1
        previous = bool(flag)
    return episodes


def peer_episodes(frame: pd.DataFrame, ruleset: RuleSet) -> int:
    """The peer: per rule, filter its values, then walk each place's periods in Python."""
    total = 0
    for rule in ruleset.rules.values():
        mine = frame[frame["indicator"] == rule.indicator].sort_values("period")
        for _, group in mine.groupby("h3_cell", sort=False):
            values = group["value"].to_numpy()
            if rule.kind == "threshold":
                breach = values > rule.above
            elif rule.kind == "target_breach":
                breach = values > 80.0
            else:
                streak, flags = 0, []
                for index, value in enumerate(values):
                    streak = streak + 1 if index and value > values[index - 1] else 0
                    flags.append(streak >= (rule.periods or 1))
                breach = np.array(flags)
            total += _runs(breach)
    return total


def _store(folder: Path, frame: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(folder / "bench.duckdb"))
    init_schema(con)
    con.register("_bench", frame.to_arrow())
    con.execute(
        "INSERT INTO indicator_results SELECT indicator, period, resolution, h3_cell, "
        "value, NULL, NULL, now(), 'bench' FROM _bench"
    )
    con.unregister("_bench")
    return con


def main(*, rules: int = 1000, values: int = 1_000_000, baseline: bool = True) -> dict:
    """Run both; returns the JSON summary (rules, values, seconds, baseline, speedup)."""
    frame, ruleset, registry = values_frame(values), bench_rules(rules), _registry()
    with tempfile.TemporaryDirectory(prefix="observatory-bench-alerts-") as folder:
        con = _store(Path(folder), frame)
        try:
            started = time.perf_counter()
            ops = ops_database(url=f"sqlite:///{Path(folder) / 'bench.ops.sqlite'}")
            result = evaluate(con, ruleset, registry, ops=ops, send=False)
            seconds = time.perf_counter() - started
        finally:
            con.close()
    summary: dict[str, object] = {
        "rules": rules,
        "values": frame.height,
        "seconds": round(seconds, 3),
        "episodes": result.episodes,
        "alerts_written": result.inserted,
    }
    print(
        f"ours: {rules} rules over {frame.height:,} values, {result.episodes:,} episodes "
        f"in {seconds:.2f} s"
    )
    if baseline:
        pandas_frame = frame.to_pandas()
        started = time.perf_counter()
        peer = peer_episodes(pandas_frame, ruleset)
        peer_seconds = time.perf_counter() - started
        print(f"peer (Python loop per rule over pandas): {peer:,} episodes in {peer_seconds:.2f} s")
        summary.update(
            baseline_seconds=round(peer_seconds, 3),
            speedup=round(peer_seconds / seconds, 1),
            baseline_episodes=peer,
            agree=peer == result.episodes,
        )
    return summary
