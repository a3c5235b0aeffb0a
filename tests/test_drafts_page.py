"""The analysts' drafts page (issue 16): validation as you type, the preview, saving,
comments, and escapes refused on the page; locked for other roles."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from observatory.roles import Role
from tests.signin import open_url, signed_in

PAGE = "pages/analysts/drafts.py"
P = "analysts_drafts_"


def _open(app_script: Path) -> AppTest:
    return signed_in(app_script, Role.ANALYSTS).run().switch_page(PAGE).run(timeout=30)


def _errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_a_new_draft_is_valid_previews_saves_and_takes_comments(ui_store: Path,
                                                               app_script: Path) -> None:
    at = _open(app_script)
    assert not at.exception and not at.error, _errors(at)
    assert at.title[0].value == "Indicator drafts"
    assert any(s.value.startswith("Valid, and its SQL binds") for s in at.success)
    at.text_input(key=f"{P}name").set_value("grocery_shops_page_count").run(timeout=30)
    at = at.button(key=f"{P}preview_run").click().run(timeout=30)
    assert not at.exception and not at.error, _errors(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cells at resolution 10"] != "0"
    assert metrics["Answered on the server in"].endswith(" ms")
    assert at.get("deck_gl_json_chart") and at.get("plotly_chart")
    checks = at.dataframe[0].value
    assert set(checks["holds"]) == {"yes"} and "one row per cell" in set(checks["check"])
    at = at.button(key=f"{P}save").click().run(timeout=30)
    assert any("Saved draft" in s.value and "version 1" in s.value for s in at.success)
    at.text_area(key=f"{P}comment").set_value("Counts match the registry page.")
    at = at.button(key=f"{P}post").click().run(timeout=30)
    assert not at.exception and not at.error, _errors(at)
    assert "Counts match the registry page." in set(at.dataframe[-1].value["comment"])
    at = at.button(key=f"{P}save").click().run(timeout=30)  # nothing changed
    assert any("nothing was saved" in s.value for s in at.success)


def test_a_taken_name_is_refused_with_both_paths(ui_store: Path, app_script: Path) -> None:
    at = _open(app_script)
    at = at.text_input(key=f"{P}name").set_value("public_transport_stops_count").run(timeout=30)
    message = _errors(at)
    assert "is taken by indicators/mobility/public_transport_stops_count.yml" in message
    assert "would be indicators/services/public_transport_stops_count.yml" in message
    assert at.button(key=f"{P}save").disabled and at.button(key=f"{P}preview_run").disabled


def test_sql_errors_and_escapes_are_named_on_the_page(ui_store: Path, app_script: Path) -> None:
    at = _open(app_script)
    for sql, words in (("SELECT h3_cell, count(*) AS value\nFROM osm_pois\nGROUP BY h3_cel",
                        "grocery_shops_count.sql line 3, column 10: Binder Error"),
                       ("SELECT h3_cell, 1 AS value FROM read_text('/etc/passwd')",
                        "file system operations are disabled"),
                       ("COPY (SELECT 1) TO '/tmp/observatory-draft-escape.csv'",
                        "COPY statement is not allowed")):
        at = at.text_area(key=f"{P}sql").set_value(sql).run(timeout=30)
        assert not at.exception
        assert words in _errors(at), (sql, _errors(at))
    assert not Path("/tmp/observatory-draft-escape.csv").exists()


def test_the_drafts_page_is_locked_for_other_roles(ui_store: Path, app_script: Path) -> None:
    at = open_url(signed_in(app_script, Role.OFFICIALS).run(), "drafts").run()
    assert "You need the Analysts role" in " ".join(w.value for w in at.warning)
    assert not at.text_area
