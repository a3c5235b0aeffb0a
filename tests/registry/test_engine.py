"""The engine: output contract, rollups that conserve totals, failures that change nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import h3
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.cli import main
from observatory.errors import IndicatorComputeError
from observatory.registry import load_registry
from observatory.registry.engine import compute_all
from observatory.store import connect_read, init_schema, read_frame

SPEC = """\
indicator:
  name: {name}
  label: Toy
  description: Toy indicator for tests.
  theme: services
  unit: {unit}
  direction: neutral
  inputs: [toy_values]
  sql: {name}.sql
  aggregation: {aggregation}
  owner: tests
  method: {{standard: none}}
"""
RATIO_SQL = "SELECT h3_cell, num AS numerator, den AS denominator, " \
            "CASE WHEN den > 0 THEN 100 * num / den END AS value FROM toy_values\n"
SUM_SQL = "SELECT h3_cell, num AS value FROM toy_values\n"


def _define(folder: Path, name: str, *, unit: str, aggregation: str, sql: str) -> None:
    (folder / "services").mkdir(parents=True, exist_ok=True)
    (folder / "services" / f"{name}.yml").write_text(
        SPEC.format(name=name, unit=unit, aggregation=aggregation))
    (folder / "services" / f"{name}.sql").write_text(textwrap.dedent(sql))


@pytest.fixture(scope="module")
def toy_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("indicators")
    _define(folder, "toy_served_share", unit="percent", aggregation="ratio", sql=RATIO_SQL)
    _define(folder, "toy_things_count", unit="count", aggregation="sum", sql=SUM_SQL)
    return folder


def _toy_store(values: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    init_schema(con)
    con.register("_v", values.to_arrow())
    con.execute("CREATE TABLE toy_values AS SELECT * FROM _v")
    return con


points = st.lists(
    st.tuples(st.floats(60.10, 60.25), st.floats(24.80, 25.10),
              st.integers(0, 50), st.integers(0, 80)),
    min_size=1, max_size=60,
)


@given(rows=points)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_rollups_conserve_totals_and_never_average(
    toy_registry: Path, rows: list[tuple[float, float, int, int]]
) -> None:
    cells = [h3.str_to_int(h3.latlng_to_cell(lat, lng, 10)) for lat, lng, _, _ in rows]
    frame = pl.DataFrame({"h3_cell": cells, "num": [float(min(r[2], r[3])) for r in rows],
                          "den": [float(r[3]) for r in rows]}).group_by("h3_cell").agg(
        pl.col("num").sum(), pl.col("den").sum())
    con = _toy_store(frame)
    compute_all(con, load_registry(toy_registry, known_inputs={"toy_values"}))
    out = read_frame(con, "SELECT * FROM indicator_results")
    total_num, total_den = frame["num"].sum(), frame["den"].sum()
    for name in ("toy_served_share", "toy_things_count"):
        rows_of = out.filter(pl.col("indicator") == name)
        for res in (10, 9, 8, 7):
            level = rows_of.filter(pl.col("resolution") == res)
            assert level["h3_cell"].n_unique() == level.height
            if name == "toy_things_count":
                assert level["value"].sum() == pytest.approx(total_num)
            else:
                assert level["numerator"].sum() == pytest.approx(total_num)
                assert level["denominator"].sum() == pytest.approx(total_den)
                shares = level["value"].drop_nulls()
                assert ((shares >= 0) & (shares <= 100 + 1e-9)).all()
        whole = rows_of.filter(pl.col("resolution").is_null())
        assert whole.height == 1 and whole["h3_cell"][0] is None
        expected = total_num if name == "toy_things_count" else (
            100 * total_num / total_den if total_den else None)
        assert whole["value"][0] == pytest.approx(expected)


def test_share_of_parent_is_ratio_of_sums_not_mean_of_shares(toy_registry: Path) -> None:
    a = h3.str_to_int(h3.latlng_to_cell(60.17, 24.94, 10))
    b = next(h3.str_to_int(c) for c in h3.grid_disk(h3.int_to_str(a), 1)
             if h3.cell_to_parent(c, 9) == h3.cell_to_parent(h3.int_to_str(a), 9)
             and h3.str_to_int(c) != a)
    con = _toy_store(pl.DataFrame({"h3_cell": [a, b], "num": [1.0, 90.0], "den": [10.0, 90.0]}))
    compute_all(con, load_registry(toy_registry, known_inputs={"toy_values"}),
                names=["toy_served_share"])
    (value,), = con.execute("SELECT value FROM indicator_results WHERE resolution = 9").fetchall()
    assert value == pytest.approx(100 * 91 / 100)  # the mean of shares would be 55


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT h3_cell, num AS value FROM toy_values\n", "no column denominator, numerator"),
    ("SELECT h3_cell, 1.0 AS numerator, 2.0 AS denominator, 10.0 AS value FROM toy_values\n",
     "value differs from numerator / denominator × 100"),
    ("SELECT h3_cell, 1.0 AS numerator, 2.0 AS denominator, 50.0 AS value FROM toy_values "
     "UNION ALL SELECT h3_cell, 1.0, 2.0, 50.0 FROM toy_values\n", "several rows for the same"),
    ("SELECT h3_cel FROM toy_values\n", "the query of `toy_bad_share` failed: Binder Error"),
])
def test_output_contract_errors(tmp_path: Path, sql: str, message: str) -> None:
    _define(tmp_path, "toy_bad_share", unit="percent", aggregation="ratio", sql=sql)
    cell = h3.str_to_int(h3.latlng_to_cell(60.17, 24.94, 10))
    con = _toy_store(pl.DataFrame({"h3_cell": [cell], "num": [1.0], "den": [2.0]}))
    with pytest.raises(IndicatorComputeError, match=message) as caught:
        compute_all(con, load_registry(tmp_path, known_inputs={"toy_values"}))
    # a failed query names its SQL file; a wrong output, the definition
    assert ("toy_bad_share.sql" if "failed" in message else "toy_bad_share.yml") in str(
        caught.value)


def test_failed_compute_leaves_the_store_byte_for_byte(
    store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "indicators"
    _define(folder, "toy_bad_share", unit="percent", aggregation="ratio",
            sql="SELECT h3_cell, 1 AS value FROM osm_pois\n")
    (folder / "services" / "toy_bad_share.yml").write_text(
        (folder / "services" / "toy_bad_share.yml").read_text().replace("toy_values", "osm_pois"))
    before = store_copy.read_bytes()
    code = main(["indicators", "compute", "--store", str(store_copy), "--indicators", str(folder)])
    assert code == 2  # the definition is at fault: bad input, not an internal error
    assert "toy_bad_share.yml: the query returns no column" in capsys.readouterr().err
    assert store_copy.read_bytes() == before


def test_every_shipped_indicator_has_results_at_every_resolution(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    rows = con.execute("""
        SELECT indicator, list(DISTINCT coalesce(resolution, -1) ORDER BY 1),
               count(*) FILTER (WHERE resolution IS NULL), count(DISTINCT period),
               any_value(definition_hash)
        FROM indicator_results GROUP BY 1""").fetchall()
    con.close()
    assert len(rows) >= 10
    for name, resolutions, whole, periods, digest in rows:
        assert sorted(resolutions) == [-1, 7, 8, 9, 10], name
        assert whole == periods and len(digest) == 16, name  # one whole-area row a period


GOLDEN_WHOLE_AREA = {
    "building_coverage_share": 28.06,
    "residents_density_per_km2": 11798.7,
    "grocery_stores_per_1k": 1.2308,
    "public_transport_stops_count": 182,
    "residents_modelled_count": 21936.1,
}


def test_golden_whole_area_values(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    values = dict(con.execute("SELECT indicator, value FROM indicator_results "
                              "WHERE resolution IS NULL").fetchall())
    con.close()
    for name, expected in GOLDEN_WHOLE_AREA.items():
        assert values[name] == pytest.approx(expected, rel=1e-3), name
