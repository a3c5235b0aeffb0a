"""The analysts' SQL workbench (issue 16, part): read-only SQL on the snapshot through the
sandbox; escape attempts are refused on the page with a clear message and leave nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read
from tests.signin import open_url, signed_in

PAGE = "pages/analysts/workbench.py"


@pytest.fixture(scope="module")
def store(helsinki_store: Path):  # type: ignore[no-untyped-def]
    con = connect_read(helsinki_store)
    yield con, load_registry(indicators_dir(), known_inputs=known_datasets(con))
    con.close()


def _open(app_script: Path, role: Role = Role.ANALYSTS) -> AppTest:
    return signed_in(app_script, role).run().switch_page(PAGE).run()


def _run(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="analysts_workbench_sql").set_value(sql)
    return at.button(key="analysts_workbench_run").click().run()


def test_a_query_shows_its_rows_time_and_download(ui_store: Path, app_script: Path) -> None:
    at = _run(_open(app_script), "SELECT indicator, count(*) AS n FROM indicator_results "
                                 "GROUP BY indicator ORDER BY indicator")
    assert not at.exception and not at.error
    assert at.title[0].value == "SQL workbench"
    result = at.dataframe[0].value
    assert list(result.columns) == ["indicator", "n"] and len(result) > 10
    assert any(" ms." in c.value for c in at.caption)
    schema = at.dataframe[1].value
    assert "indicator_results" in set(schema["table"])


def test_escapes_are_refused_on_the_page(ui_store: Path, app_script: Path,
                                         tmp_path: Path) -> None:
    at = _open(app_script)
    for sql, words in ((f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", "COPY statement"),
                       ("SELECT * FROM read_text('/etc/passwd')", "disabled"),
                       ("SET memory_limit = '20MB'", "SET statement"),
                       ("SELECT count(*) FROM range(10000000000) a, range(100000) b",
                        "time limit")):
        at = _run(at, sql)
        assert not at.exception
        assert at.error and words in at.error[0].value, (sql, [e.value for e in at.error])
    assert list(tmp_path.iterdir()) == []


def test_ten_million_rows_are_capped_on_the_page(ui_store: Path, app_script: Path) -> None:
    at = _run(_open(app_script), "SELECT range AS i FROM range(10000000)")
    assert len(at.dataframe[0].value) == 10_000
    assert any("the first 10,000 shown" in c.value for c in at.caption)


def test_the_workbench_is_locked_for_other_roles(ui_store: Path, app_script: Path) -> None:
    at = open_url(signed_in(app_script, Role.OFFICIALS).run(), "workbench").run()
    assert "You need the Analysts role" in " ".join(w.value for w in at.warning)
    assert not at.text_area


def test_every_shipped_indicator_reaches_a_source(store) -> None:  # type: ignore[no-untyped-def]
    """Lineage (issue 16): every input of every computed indicator goes back to at least
    one recorded source with a licence, and the graph names them."""
    from observatory.views.lineage import indicator_lineage, lineage_dot

    con, registry = store
    computed = {r[0] for r in con.execute("SELECT DISTINCT indicator FROM indicator_results"
                                          ).fetchall()}
    assert len(computed) > 50
    for name in sorted(computed):
        lineage = indicator_lineage(con, registry, name, role=Role.ANALYSTS)
        assert lineage.inputs, name
        for table, sources in lineage.inputs.items():
            assert sources and all(s.licence for s in sources), (name, table)
        dot = lineage_dot(lineage)
        assert dot.startswith("digraph") and all(f'"table {t}"' in dot for t in lineage.inputs)
    rules = indicator_lineage(con, registry, "pm25_annual_mean_ug_m3", role=Role.ANALYSTS)
    assert "pm25_annual_mean_anomaly" in rules.alert_rules
    assert "Public portal: Indicators" in rules.pages


def test_lineage_as_json_from_the_cli(helsinki_store: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from observatory.cli import main

    assert main(["indicators", "lineage", "grocery_15min_walk_share", "--json",
                 "--store", str(helsinki_store)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["indicator"] == "grocery_15min_walk_share"
    assert any(s["source_id"].startswith("osm:") for sources in data["inputs"].values()
               for s in sources)


def test_the_registry_page_draws_the_lineage(ui_store: Path, app_script: Path) -> None:
    at = signed_in(app_script, Role.ANALYSTS).run()
    assert not at.exception
    charts = at.get("graphviz_chart")
    assert charts and "digraph lineage" in charts[0].proto.spec
