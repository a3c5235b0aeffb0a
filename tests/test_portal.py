"""The public portal: anonymous visitors see public indicators only, never a withheld cell;
English and French; the views refuse internal indicators whoever asks."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from observatory import views
from observatory.datasets import known_datasets
from observatory.errors import UnknownIndicatorError
from observatory.i18n import format_number, language_of, t
from observatory.registry.loader import load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views.disclosure import indicator_disclosure

INTERNAL = {"residents_modelled_count": "Residents (modelled)",
            "service_requests_open_count": "Open service requests (backlog)"}


@pytest.fixture(scope="module")
def store(helsinki_store: Path):
    con = connect_read(helsinki_store)
    registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    yield con, registry
    con.close()


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "title", "header") for e in
             getattr(at, kind)]
    parts += [str(o) for box in at.selectbox for o in box.options]
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(str(p) for p in parts)


def _drawn_cells(at: AppTest) -> set[str]:
    cells = set()
    for chart in at.get("deck_gl_json_chart"):
        for layer in json.loads(chart.proto.json)["layers"]:
            if layer["@@type"] == "H3HexagonLayer":
                cells |= {row["h3_hex"] for row in layer["data"]}
    return cells


def test_an_anonymous_visitor_never_sees_an_internal_indicator(ui_store: Path,
                                                               app_script: Path) -> None:
    at = AppTest.from_file(str(app_script), default_timeout=30).run()  # no role chosen
    assert at.title[0].value == t("portal_title", "en") and not at.exception
    for theme in at.radio(key="public_portal_theme").options:
        at.radio(key="public_portal_theme").set_value(theme).run()
        assert not at.exception and not at.error
        text = _text(at)
        for name, label in INTERNAL.items():
            assert name not in text and label not in text, (theme, name)


def test_the_map_draws_no_withheld_cell(ui_store: Path, app_script: Path, store) -> None:
    con, registry = store
    at = AppTest.from_file(str(app_script), default_timeout=30).run()
    name = at.selectbox(key="public_portal_indicator").value
    period = at.selectbox(key="public_portal_period").value
    resolution = at.radio(key="public_portal_resolution").value
    disclosure = indicator_disclosure(con, registry.get(name).spec, period=period)
    withheld = disclosure.cells.filter(pl.col("status") != "published")
    withheld_hex = {f"{c:x}" for c in withheld["h3_cell"].to_list()}
    drawn = _drawn_cells(at)
    allowed = set(views.indicator_map(con, registry, name, role=Role.PUBLIC, period=period,
                                      resolution=resolution,
                                      language="en").drawn.cells["h3_hex"].to_list())
    assert drawn and drawn <= allowed
    merged_members = {f"{c:x}" for row in disclosure.merged_at(resolution)["members"].to_list()
                      for c in row}
    assert not (drawn & withheld_hex) - merged_members  # merged cells show only their group
    assert "At this cell size" in _text(at)


def test_french_switch_translates_interface_and_labels(ui_store: Path, app_script: Path,
                                                       store) -> None:
    _, registry = store
    at = AppTest.from_file(str(app_script), default_timeout=30).run()
    at.sidebar.radio(key="public_language").set_value("fr").run()
    assert not at.exception
    assert at.title[0].value == "Indicateurs de quartier"
    name = at.selectbox(key="public_portal_indicator").value
    label = registry.get(name).spec.label_in("fr")
    assert label in at.selectbox(key="public_portal_indicator").options
    assert "Données au" in _text(at)


def test_lang_query_parameter_opens_the_portal_in_french(ui_store: Path,
                                                         app_script: Path) -> None:
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.query_params["lang"] = "fr"
    at.run()
    assert at.title[0].value == "Indicateurs de quartier" and not at.exception


def test_views_refuse_internal_indicators_to_the_portal(store) -> None:
    con, registry = store
    catalogue = views.indicator_overview(con, registry, role=Role.PUBLIC, language="en")
    assert not set(catalogue["name"].to_list()) & set(INTERNAL)
    for name in INTERNAL:
        assert registry.get(name).spec.visibility == "internal"  # exists, but internal
        with pytest.raises(UnknownIndicatorError):
            views.visible_spec(registry, name, role=Role.PUBLIC)
        with pytest.raises(UnknownIndicatorError):
            views.indicator_map(con, registry, name, role=Role.PUBLIC, period="2024",
                                resolution=9, language="en")


def test_every_public_indicator_has_a_plain_summary_and_french_label(store) -> None:
    con, registry = store
    for language in ("en", "fr"):
        catalogue = views.indicator_overview(con, registry, role=Role.PUBLIC,
                                             language=language)
        assert catalogue.height > 0 and catalogue["summary"].null_count() == 0
    for name in catalogue["name"].to_list():
        spec = registry.get(name).spec
        assert isinstance(spec.label, dict) and spec.label.get("fr"), name


def test_numbers_and_languages() -> None:
    assert format_number(12345.6, "en") == "12,346"
    assert format_number(12345.6, "fr") == "12\u202f346"
    assert format_number(2.5, "fr") == "2,5"
    assert language_of("FR-ca") == "fr" and language_of("de") == "en"


def test_french_portal_has_french_description_method_legend_and_badges(
        ui_store: Path, app_script: Path, store) -> None:
    """Descriptions, methods, legends and badges in French (issue 15): the definition's
    French text, no English legend or badge words."""
    _, registry = store
    at = AppTest.from_file(str(app_script), default_timeout=30)
    at.query_params["lang"] = "fr"
    at.run()
    assert not at.exception
    name = at.selectbox(key="public_portal_indicator").value
    spec = registry.get(name).spec
    text = " ".join(_text(at).split())
    assert " ".join(spec.description_in("fr").split()) in text
    assert " ".join(spec.method.standard_in("fr").split())[:60] in text
    assert "classes par quantiles" in text or "rien ne varie" in text
    assert "Données modélisées" in text  # the badge (st.badge renders as markdown)
    for english in ("quantile classes", "no value", "Modelled data", "cells withheld"):
        assert english not in text, english
