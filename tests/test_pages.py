"""Every page under its role with Streamlit's AppTest: real content, no error, fast."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from observatory.roles import Role
from observatory.settings import STORE_ENV
from observatory.ui.navigation import ROLE_PAGES, PageEntry, page_entries

CASES = [(role, entry) for role, entries in ROLE_PAGES.items() for entry in entries]
# Server-side budget of one page run with warm caches (seconds).
CACHED_BUDGET = 1.0
INTERNAL_LABEL = "Residents (modelled)"  # residents_modelled_count, visibility: internal


def _app(app_script: Path, role: Role) -> AppTest:
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.session_state["role"] = role.value
    return at.run()


def _open(app_script: Path, role: Role, entry: PageEntry) -> AppTest:
    at = _app(app_script, role)
    return at.switch_page(entry.path).run()


def _deck_layers(at: AppTest) -> list[dict[str, object]]:
    layers = []
    for chart in at.get("deck_gl_json_chart"):
        layers += json.loads(chart.proto.json)["layers"]
    return layers


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "title") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(("role", "entry"), CASES,
                         ids=[f"{r.value}-{e.url_path}" for r, e in CASES])
def test_page_shows_a_map_a_table_and_provenance(
    ui_store: Path, app_script: Path, role: Role, entry: PageEntry
) -> None:
    at = _open(app_script, role, entry)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    hexagons = [layer for layer in _deck_layers(at) if layer["@@type"] == "H3HexagonLayer"]
    assert hexagons and all(layer["data"] for layer in hexagons)
    assert all(len(row["h3_hex"]) == 15 for row in hexagons[0]["data"])
    assert at.dataframe and any(len(df.value) for df in at.dataframe)
    text = _text(at)
    assert "Data as of" in text and "Unit:" in text and "Sources:" in text
    assert "ODbL" in text, "the OpenStreetMap licence is cited"

    started = time.perf_counter()
    at.run()  # a rerun with warm caches, as when a visitor changes a widget
    elapsed = time.perf_counter() - started
    assert not at.exception
    print(f"{role.value}/{entry.url_path}: cached run {elapsed:.3f} s")
    assert elapsed < CACHED_BUDGET, f"{entry.path} took {elapsed:.2f} s with warm caches"


def test_public_navigation_offers_no_staff_pages(ui_store: Path, app_script: Path) -> None:
    public = {e.path for e in page_entries(Role.PUBLIC)}
    assert all(path.startswith("pages/public/") for path in public)
    at = _app(app_script, Role.PUBLIC)
    for role in (Role.ANALYSTS, Role.OFFICIALS, Role.OPERATIONS):
        for entry in page_entries(role):
            with pytest.raises(ValueError):
                at.switch_page(entry.path)


def test_switching_role_changes_the_pages(ui_store: Path, app_script: Path) -> None:
    at = _app(app_script, Role.PUBLIC)
    assert at.title[0].value == "Neighbourhood indicators"
    with pytest.raises(ValueError):
        at.switch_page("pages/analysts/registry.py")
    at.radio(key="public_portal_theme").set_value("population").run()
    assert INTERNAL_LABEL not in at.selectbox(key="public_portal_indicator").options
    at.sidebar.selectbox(key="role").set_value(Role.ANALYSTS.value).run()
    assert not at.exception
    assert at.title[0].value == "Indicator registry"
    assert INTERNAL_LABEL in at.selectbox(key="analysts_registry_indicator").options
    at.switch_page("pages/analysts/catalogue.py").run()
    assert at.title[0].value == "Data catalogue" and not at.exception
    with pytest.raises(ValueError):
        at.switch_page("pages/public/portal.py")


def test_role_query_parameter_opens_that_role(ui_store: Path, app_script: Path) -> None:
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.query_params["role"] = "operations"
    at.run()
    assert at.title[0].value == "Data health" and not at.exception
    assert at.session_state["role"] == "operations"


def test_unknown_role_falls_back_to_the_public(ui_store: Path, app_script: Path) -> None:
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.query_params["role"] = "mayor"
    at.run()
    assert at.title[0].value == "Neighbourhood indicators" and not at.exception


def test_public_cannot_smuggle_an_internal_indicator_in(ui_store: Path,
                                                        app_script: Path) -> None:
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.session_state["role"] = "public"
    at.session_state["public_portal_indicator"] = "residents_modelled_count"
    at.run()
    assert not at.exception and not at.error
    assert INTERNAL_LABEL not in _text(at)
    assert at.session_state["public_portal_indicator"] != "residents_modelled_count"


def test_missing_store_says_how_to_build_one(
    ui_store: Path, app_script: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "nowhere.duckdb"))
    at = AppTest.from_file(str(app_script), default_timeout=30).run()
    assert not at.exception
    assert any("observatory demo" in e.value for e in at.error)


def test_a_public_deployment_ignores_role_choices(
    ui_store: Path, app_script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATORY_DEMO_ROLES", "0")
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.query_params["role"] = "analysts"
    at.session_state["role"] = "analysts"
    at.run()
    assert not at.exception
    assert all(s.key != "role" for s in at.selectbox)  # no switcher is offered
    assert at.session_state["role"] == "public"
    assert INTERNAL_LABEL not in _text(at)


def test_about_page_publishes_the_walking_method_and_what_changed(
        ui_store: Path, app_script: Path) -> None:
    at = _open(app_script, Role.PUBLIC, next(e for e in page_entries(Role.PUBLIC)
                                             if e.url_path == "about"))
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert "nearest point of the nearest walkable way" in text
    assert "cycleways tagged foot=yes" in text and "foot=no or foot=private" in text
    assert "What changed on 2026-12-01, and why." in text
    table = next(df.value for df in at.dataframe if "before_4_8_kmh" in df.value.columns)
    assert table.shape[0] == 8
    assert (table["after_4_8_kmh"] >= table["before_4_8_kmh"]).all()
