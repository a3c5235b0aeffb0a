"""`observatory bench spark` runs end to end (small sizes) and reports both engines on the
same data with equal results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pyspark", reason="the Spark extra (`uv sync --extra spark`)")


@pytest.mark.slow
def test_the_spark_benchmark_reports_both_engines_and_equal_results(
        helsinki_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from observatory.cli import main

    assert main(["bench", "spark", "--readings", "50000", "--nodes", "30000",
                 "--region-resolution", "7", "--store", str(helsinki_store)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["equal"] and summary["aggregate_equal"] and summary["regional_equal"]
    assert summary["indicators"] >= 10 and summary["duckdb_s"] > 0 and summary["spark_s"] > 0
    assert summary["aggregate_rows"] >= 50_000 and summary["regions"] >= 2
