"""The operations benchmark runs end to end at a small scale (its figures are the README's
at full scale): no action lost, and the append gives the full rebuild's values."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.alerts import evaluate_published
from observatory.bench.appends import append_benchmark
from observatory.bench.operations import actions_benchmark
from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.settings import indicators_dir
from observatory.store import connect_read


@pytest.mark.slow
def test_append_half_matches_a_full_rebuild(store_copy: Path, tmp_path: Path) -> None:
    figures = append_benchmark(store_copy, tmp_path / "work", total=20_000, append_rows=50,
                               stations=8, cadence_s=60)
    assert figures["append_rows"] == 50 and figures["append_same_values"] is True
    assert figures["append_indicators"] == 4
    assert float(str(figures["append_s"])) > 0 and float(str(figures["full_rebuild_s"])) > 0


@pytest.mark.slow
def test_actions_half_loses_nothing(store_copy: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
    con = connect_read(store_copy)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    finally:
        con.close()
    evaluate_published(store_copy, registry, send=False)  # the copy's own open alerts
    figures = actions_benchmark(store_copy, actions=20, clients=4, builds=1,
                                spread_seconds=5.0)
    assert (figures["recorded"], figures["lost"], figures["errors"]) == (20, 0, 0)
    assert figures["duplicated"] == 0 and figures["builds"] == 1
