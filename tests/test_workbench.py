"""The analysts' SQL workbench (issue 16, part): read-only SQL on the snapshot through the
sandbox; escape attempts are refused on the page with a clear message and leave nothing."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from observatory.roles import Role
from tests.signin import open_url, signed_in

PAGE = "pages/analysts/workbench.py"


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
