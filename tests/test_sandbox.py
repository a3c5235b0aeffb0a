"""The SQL sandbox (issue 16): every escape attempt is refused with a clear message and
leaves no file behind; long queries stop at the time limit; results are capped; errors
name the line and column of the user's SQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from observatory.lake import LAKE_TABLES
from observatory.sandbox import Limits, Sandbox, SandboxError, one_query
from observatory.settings import REPO_ROOT
from observatory.snapshots import current_snapshot, store_dir


@pytest.fixture(scope="module")
def sandbox(helsinki_store: Path) -> Iterator[Sandbox]:
    box = Sandbox(current_snapshot(helsinki_store), lake_root=store_dir(helsinki_store) / "lake",
                  limits=Limits(timeout_s=2.0, max_rows=10_000))
    yield box
    box.close()


def outside_file(tmp: Path) -> Path:
    """A real Parquet file beside `tmp`, outside any lake: readable anywhere but in the
    sandbox (so refusing it is the sandbox's doing, not a missing file's)."""
    path = tmp.parent / f"{tmp.name}-outside.parquet"
    pl.DataFrame({"secret": ["not for the sandbox"]}).write_parquet(path)
    return path


def _escapes(tmp: Path) -> dict[str, str]:
    return {
        "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
        "read_text": "SELECT * FROM read_text('/etc/passwd')",
        "read_blob": "SELECT * FROM read_blob('/etc/hosts')",
        "glob": "SELECT * FROM glob('/*')",
        "read_parquet elsewhere": ("SELECT * FROM read_parquet("
                                   f"'{tmp.parent / (tmp.name + '-outside.parquet')}')"),
        "copy": f"COPY (SELECT 1) TO '{tmp}/x.csv'",
        "copy hidden in a query": f"SELECT 1; COPY (SELECT 1) TO '{tmp}/y.csv'",
        "export": f"EXPORT DATABASE '{tmp}/export'",
        "attach": f"ATTACH '{tmp}/other.duckdb' AS other",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "set": "SET memory_limit = '20MB'",
        "pragma": "PRAGMA threads = 1",
        "call": "CALL duckdb_settings()",
        "getenv": "SELECT getenv('HOME')",
        "delete": "DELETE FROM sources",
        "create": "CREATE TABLE x AS SELECT 1",
    }


@pytest.mark.parametrize("name", list(_escapes(Path("/tmp"))))
def test_every_escape_is_refused_and_leaves_nothing(sandbox: Sandbox, tmp_path: Path,
                                                    name: str) -> None:
    outside_file(tmp_path)
    sql = _escapes(tmp_path)[name]
    with pytest.raises(SandboxError) as refused:
        sandbox.query(sql, where="workbench")
    message = str(refused.value)
    assert message.startswith("workbench") and len(message.splitlines()) == 1
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)
    # and the sandbox still works, its settings untouched
    assert sandbox.query("SELECT current_setting('memory_limit') AS m").frame["m"][0] != "20MB"
    assert sandbox.query("SELECT count(*) AS n FROM sources").frame["n"][0] > 0


def test_statements_other_than_one_query_are_refused_before_they_run() -> None:
    assert one_query("SELECT 1;") == "SELECT 1"
    assert one_query("WITH a AS (SELECT 1 AS x) SELECT x FROM a").startswith("WITH")
    for sql, words in (("SELECT 1; SELECT 2", "2 statements"),
                       ("COPY (SELECT 1) TO 'x.csv'", "COPY statement is not allowed"),
                       ("SET threads = 1", "SET statement is not allowed")):
        with pytest.raises(SandboxError, match=words):
            one_query(sql)


def test_a_query_running_for_minutes_is_stopped_at_the_time_limit(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="stopped after 2 s, the time limit"):
        sandbox.query("SELECT count(*) FROM range(100000000000) a, range(1000) b")


def test_ten_million_rows_are_capped(sandbox: Sandbox) -> None:
    result = sandbox.query("SELECT range AS i FROM range(10000000)")
    assert result.truncated and result.frame.height == 10_000
    assert result.seconds < 2.0


def test_the_store_its_macros_and_its_lake_are_readable(sandbox: Sandbox) -> None:
    frame = sandbox.query("SELECT h3_parent(h3_cell, 8) AS p FROM study_cells LIMIT 3").frame
    assert frame.height == 3
    for table in LAKE_TABLES:
        assert sandbox.query(f"SELECT count(*) AS n FROM {table}").frame["n"][0] > 0, table
    params = sandbox.query("SELECT $k + 1 AS v", params={"k": 41}).frame
    assert params["v"][0] == 42


def test_errors_name_the_line_and_column_of_the_sql(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match=r"^draft line 2, column \d+: .*no_such_column"):
        sandbox.query("SELECT h3_cell,\n       no_such_column\nFROM study_cells",
                      where="draft")
    with pytest.raises(SandboxError, match=r"^draft line 1.*not valid SQL"):
        sandbox.query("SELEC 1", where="draft")


BAD_SQL = {
    "syntax_error_count": ("SELECT\n    c.h3_cell,\n    cout(*) AS value\nFROM study_cells c\n"
                           "GROUP BY", "line 5"),
    "wrong_column_count": ("SELECT\n    h3_cell,\n    count(no_such_column) AS value\n"
                           "FROM study_cells GROUP BY h3_cell", "line 3"),
    "copies_a_file_count": ("COPY (SELECT 1) TO '/tmp/observatory-escape.csv'",
                            "COPY statement is not allowed"),
    "reads_passwd_count": ("SELECT h3_cell, 1 AS value, content FROM study_cells, "
                           "read_text('/etc/passwd')", "file system operations are disabled"),
    "no_value_count": ("SELECT h3_cell, 1 AS amount FROM study_cells",
                       "returns no column value"),
    "decimal_cell_count": ("SELECT 1.5 AS h3_cell, 1 AS value",  # compute refuses it too
                           "column h3_cell is DECIMAL(2,1); return the cell as BIGINT"),
}


def test_validate_sees_the_sql_before_any_build(helsinki_store: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`observatory indicators validate` binds every definition's SQL in the sandbox: each
    bad one is reported with its SQL file and line, and the store is untouched."""
    from observatory.cli import main

    folder = tmp_path / "indicators"
    shutil.copytree(REPO_ROOT / "indicators", folder)
    template = (folder / "mobility" / "public_transport_stops_count.yml").read_text()
    for name, (sql, _) in BAD_SQL.items():
        (folder / "mobility" / f"{name}.sql").write_text(sql + "\n")
        (folder / "mobility" / f"{name}.yml").write_text(
            template.replace("public_transport_stops_count", name))
    snapshot = current_snapshot(helsinki_store)
    before = snapshot.stat().st_mtime_ns
    assert main(["indicators", "validate", "--indicators", str(folder),
                 "--store", str(helsinki_store)]) == 2
    err = capsys.readouterr().err
    for name, (_, words) in BAD_SQL.items():
        line = next((text for text in err.splitlines() if f"{name}.sql" in text), "")
        assert words in line, (name, err)
    assert f"{len(BAD_SQL)} problems" in err
    assert not Path("/tmp/observatory-escape.csv").exists()
    assert current_snapshot(helsinki_store) == snapshot
    assert snapshot.stat().st_mtime_ns == before


def test_escapes_in_indicator_files_are_refused_by_compute(
    store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The build runs shipped and analyst SQL in the sandbox too: `observatory indicators
    compute` over one definition per escape (plus a query running for minutes and one of
    10 M rows) refuses each, naming its SQL file, writes no file and leaves the store as
    it was. On code that ran indicator SQL on the writable connection, `read_text`
    computed and `COPY` wrote its file."""
    from observatory.cli import main

    monkeypatch.setenv("OBSERVATORY_BUILD_QUERY_SECONDS", "2")
    monkeypatch.setenv("OBSERVATORY_BUILD_MAX_ROWS", "1000000")
    outside_file(tmp_path)
    escapes = {**_escapes(tmp_path),
               "minutes": "SELECT count(*) AS value FROM range(100000000000) a, range(1000) b",
               "ten_million": "SELECT range AS h3_cell, 1 AS value FROM range(10000000)"}
    folder = tmp_path / "indicators" / "mobility"
    folder.mkdir(parents=True)
    template = (REPO_ROOT / "indicators" / "mobility" /
                "public_transport_stops_count.yml").read_text()
    names = {}
    for number, (escape, sql) in enumerate(escapes.items()):
        name = f"escape_{number}_count"
        names[name] = escape
        (folder / f"{name}.yml").write_text(template.replace("public_transport_stops_count", name))
        (folder / f"{name}.sql").write_text(sql + "\n")
    snapshot = current_snapshot(store_copy)
    before = snapshot.read_bytes()
    code = main(["indicators", "compute", "--store", str(store_copy),
                 "--indicators", str(tmp_path / "indicators")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{len(escapes)} problems in the indicators; no result was written" in err
    for name, escape in names.items():
        line = next((text for text in err.splitlines() if f"{name}.sql" in text), "")
        assert f"the query of `{name}` failed" in line, (escape, err)
    assert "stopped after 2 s, the time limit" in err
    assert "returns more than 1,000,000 rows" in err
    left = {"x.parquet", "x.csv", "y.csv", "export", "other.duckdb"} & set(os.listdir(tmp_path))
    assert not left, left
    assert current_snapshot(store_copy) == snapshot and snapshot.read_bytes() == before


def test_validation_binds_without_running(helsinki_store: Path) -> None:
    """A query that would run for minutes is described in an instant: validation as one
    types never runs the query (and never holds the shared sandbox for long)."""
    box = Sandbox(current_snapshot(helsinki_store), lake_root=store_dir(helsinki_store) / "lake",
                  limits=Limits(timeout_s=2.0))
    try:
        described = box.describe("SELECT count(*) AS n, h3_cell FROM study_cells, "
                                 "range(100000000000) GROUP BY h3_cell")
        assert described == {"n": "BIGINT", "h3_cell": "BIGINT"}
        with pytest.raises(SandboxError, match=r"line 1, column 8: .*no_such"):
            box.describe("SELECT no_such FROM study_cells")
    finally:
        box.close()


def test_a_window_narrows_the_lake_and_is_widened_after(sandbox: Sandbox) -> None:
    """An append's window: inside it the lake's readings of other years are gone (and the
    narrowed views are shared by the next block with the same window); the next query
    outside any window sees every reading again."""
    from datetime import UTC, datetime

    count = "SELECT count(*) AS n, min(time) AS first FROM sensor_values"
    whole = sandbox.query(count).frame.row(0, named=True)
    window = {"sensor_values": "time"}
    start, end = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC)
    for _ in range(2):
        with sandbox.rows_between(window, start=start, end=end):
            inside = sandbox.query(count).frame.row(0, named=True)
        assert 0 < inside["n"] < whole["n"] and inside["first"] >= start
    assert sandbox.query(count).frame.row(0, named=True) == whole
