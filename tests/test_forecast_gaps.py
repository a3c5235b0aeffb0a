"""Real files, real mistakes: gaps filled or refused by one rule, and times read by the
project's one parser, in the forecast command and in the build's forecast step."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pytest

from observatory.cli import main
from observatory.forecasting.gaps import LINEAR, SEASONAL, FillLimits, GapError, fill_gaps
from observatory.forecasting.step import (
    ADDED_COLUMNS,
    TABLES_SQL,
    SeriesJob,
    forecast_job,
    write_outputs,
)

START = dt.date(2012, 1, 1)


def _daily(tmp_path: Path, *, drop: set[int], fmt: str = "%Y-%m-%d", n: int = 1000,
           name: str = "no2.csv") -> Path:
    """A seasonal daily series like NO2 means (weekly cycle, yearly swing, noise)."""
    rng = np.random.default_rng(3)
    t = np.arange(n)
    y = 30 + 8 * np.sin(2 * np.pi * t / 365) - 5 * (t % 7 >= 5) + rng.normal(0, 2, n)
    rows = [f"{START + dt.timedelta(days=i):{fmt}},{y[i]:.2f}" for i in range(n) if i not in drop]
    path = tmp_path / name
    path.write_text("date,no2\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["forecast", "--csv", str(path), "--time", "date", "--value", "no2",
                 "--horizon", "3", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _payload(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_scattered_missing_days_are_filled_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = {int(i) for i in np.random.default_rng(0).choice(np.arange(5, 995), 28,
                                                            replace=False)}
    code, out, _ = _run(_daily(tmp_path, drop=drop), capsys, "--json")
    assert code == 0
    payload = _payload(out)
    assert payload["filled_points"] == 28 and payload["fill_method"] == SEASONAL
    assert payload["frequency"] == "daily" and payload["season"] == 7
    assert sorted(payload["filled_times"]) == sorted(
        (START + dt.timedelta(days=i)).isoformat() for i in drop)
    assert "28 missing daily points filled by seasonal interpolation" in out
    assert payload["forecast"][0]["time"] == (START + dt.timedelta(days=1000)).isoformat()


def test_empty_values_are_missing_points(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("date,no2\n2020,1\n2021,\n2022,3\n2023,NA\n2024,5\n2025,6\n",
                    encoding="utf-8")
    code, out, _ = _run(path, capsys, "--json", "--max-fill-share", "0.4")
    payload = _payload(out)
    assert code == 0 and payload["filled_points"] == 2 and payload["fill_method"] == LINEAR
    assert payload["filled_times"] == ["2021", "2023"]
    assert payload["forecast"][0]["time"] == "2026"


def test_a_long_hole_exits_2_naming_it(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = _daily(tmp_path, drop=set(range(300, 360)))
    code, _, err = _run(path, capsys)
    assert code == 2
    assert err.count("\n") == 1, err  # one message
    assert "from 2012-10-27 to 2012-12-25 (60 missing daily points)" in err
    assert "limit of 7" in err and "--max-gap" in err
    code, out, _ = _run(path, capsys, "--json", "--max-gap", "60")
    assert code == 0 and _payload(out)["filled_points"] == 60


def test_too_many_missing_points_exit_2_with_the_share(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _daily(tmp_path, drop=set(range(10, 990, 10)))  # 98 single days
    code, _, err = _run(path, capsys, "--max-fill-share", "0.05")
    assert code == 2 and "98 of 1000" in err and "--max-fill-share" in err
    code, _, err = _run(path, capsys, "--max-fill-share", "10")
    assert code == 2 and "0.1 fills at most 10 %" in err


def test_dates_with_slashes_parse(tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _daily(tmp_path, drop=set(), fmt="%Y/%m/%d", n=60)
    code, out, err = _run(path, capsys, "--json")
    assert code == 0, err
    payload = _payload(out)
    assert payload["frequency"] == "daily" and payload["filled_points"] == 0
    assert payload["forecast"][0]["time"] == "2012-03-01"
    months = tmp_path / "months.csv"  # 2012/01: Polars inference raised ComputeError
    months.write_text("date,no2\n" + "".join(f"{2012 + i // 12}/{i % 12 + 1:02d},{i % 12}\n"
                                             for i in range(24)), encoding="utf-8")
    code, out, err = _run(months, capsys, "--json")
    assert code == 0, err
    assert _payload(out)["frequency"] == "monthly"
    assert _payload(out)["forecast"][0]["time"] == "2014-01-01"


def test_a_bad_date_names_the_first_line_and_its_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,no2\n2012/01/01,1\n2012/01/02,2\n2012/13/45,3\nsoon,4\n",
                    encoding="utf-8")
    code, _, err = _run(path, capsys)
    assert code == 2 and "line 4 ('2012/13/45')" in err and "internal error" not in err


def test_ambiguous_day_and_month_asks_for_the_date_format(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _daily(tmp_path, drop=set(), fmt="%d/%m/%Y", n=12)
    code, _, err = _run(path, capsys)
    assert code == 2 and "--date-format" in err and "`date`" in err
    code, out, err = _run(path, capsys, "--json", "--date-format", "%d/%m/%Y")
    assert code == 0, err
    assert _payload(out)["forecast"][0]["time"] == "2012-01-13"
    path = _daily(tmp_path, drop=set(), fmt="%d/%m/%Y", n=14, name="longer.csv")
    code, _, err = _run(path, capsys, "--date-format", "%m/%d/%Y")
    assert code == 2 and "line 14 ('13/01/2012')" in err and "--date-format" in err


def test_fill_gaps_refuses_at_the_limits() -> None:
    labels = [str(2000 + i) for i in range(40)]
    y = np.arange(40, dtype=float)
    y[[5, 6, 7]] = np.nan
    filled = fill_gaps(y, labels=labels)  # a run of 3: the yearly default limit
    np.testing.assert_allclose(filled.values, np.arange(40))
    assert filled.sentence(unit="periods") == "3 missing periods filled by linear interpolation"
    y[8] = np.nan
    with pytest.raises(GapError, match="from 2005 to 2008 .4 missing points.") as caught:
        fill_gaps(y, labels=labels)
    assert caught.value.kind == "gap"
    with pytest.raises(GapError, match="4 of 40 points are missing"):
        fill_gaps(y, labels=labels, limits=FillLimits(max_share=0.05, max_gap=4))


# -- the build's forecast step -------------------------------------------------------------

def _job(periods: list[str], values: list[float]) -> SeriesJob:
    return SeriesJob("pm25_mean", "whole", "all", tuple(periods), tuple(values),
                     "lower_is_better", (5.0, dt.date(2030, 12, 31), "test"))


def test_step_fills_a_missing_period_and_stores_the_count() -> None:
    periods = [str(y) for y in range(2010, 2025) if y != 2017]  # 2017 has no value
    values = [20.0 - 0.5 * (int(p) - 2010) + (0.3 if int(p) % 2 else -0.3) for p in periods]
    out = forecast_job(_job(periods, values))
    (backtest,) = out["backtests"]
    assert backtest[3] is not None  # a model was chosen
    assert backtest[-2:] == (1, LINEAR)
    assert "1 missing period filled by linear interpolation" in backtest[-3]
    assert out["forecasts"][0][3] == "2025"
    con = duckdb.connect()
    for statement in TABLES_SQL:
        con.execute(statement)
    write_outputs(con, [out])
    assert con.execute("SELECT filled_points, fill_method FROM indicator_backtests"
                       ).fetchall() == [(1, LINEAR)]


def test_step_refuses_a_long_gap_naming_it() -> None:
    periods = [f"{y}-{m:02d}" for y in range(2015, 2024) for m in range(1, 13)]
    kept = [p for p in periods if not "2019-02" <= p <= "2020-06"]  # 17 months
    out = forecast_job(_job(kept, [float(i % 12) for i in range(len(kept))]))
    assert out["forecasts"] == []
    reason = out["backtests"][0][-3]
    assert "from 2019-02 to 2020-06 (17 missing periods)" in reason
    assert "limit of 12 periods" in reason
    assert out["status"][0][6] == "no forecast" and out["status"][0][-1] == reason


def test_an_older_store_gains_the_fill_columns() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE indicator_backtests (indicator VARCHAR, area_kind VARCHAR, "
                "area_id VARCHAR, model VARCHAR, mase DOUBLE, coverage80 DOUBLE, "
                "coverage95 DOUBLE, holdout INTEGER, note VARCHAR)")
    for statement in ADDED_COLUMNS * 2:  # idempotent
        con.execute(statement)
    columns = [r[0] for r in con.execute("DESCRIBE indicator_backtests").fetchall()]
    assert columns[-2:] == ["filled_points", "fill_method"]


def test_the_pages_read_the_fill_count_also_from_older_stores() -> None:
    from observatory.views.trends import _filled

    con = duckdb.connect()
    for statement in TABLES_SQL:
        con.execute(statement)
    periods = [str(y) for y in range(2010, 2025) if y != 2017]
    write_outputs(con, [forecast_job(_job(periods, [float(p) - 2000 for p in periods]))])
    assert con.execute(f"SELECT {_filled(con)} FROM indicator_backtests").fetchall() == [
        (1, LINEAR)]
    old = duckdb.connect()
    old.execute("CREATE TABLE indicator_backtests (indicator VARCHAR, note VARCHAR)")
    old.execute("INSERT INTO indicator_backtests VALUES ('x', 'n')")
    assert old.execute(f"SELECT {_filled(old)} FROM indicator_backtests").fetchall() == [
        (0, None)]
