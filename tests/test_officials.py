"""The officials' pages and the analysts' forecasts page with Streamlit's AppTest."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import h3
import pytest
from streamlit.testing.v1 import AppTest

from observatory.cli import main
from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views import trends
from observatory.views.brief import brief_html, brief_of, number
from observatory.views.brief_charts import fan_svg, map_svg
from tests.signin import signed_in


@pytest.fixture(scope="module")
def store_registry(helsinki_store: Path) -> Iterator[tuple[object, object]]:
    con = connect_read(helsinki_store)
    yield con, load_registry(indicators_dir(), known_inputs=known_datasets(con))
    con.close()


def _open(app_script: Path, role: Role, page: str) -> AppTest:
    return signed_in(app_script, role).run().switch_page(page).run()


def test_overview_scorecard_trend_changes_and_brief(ui_store: Path, app_script: Path) -> None:
    at = _open(app_script, Role.OFFICIALS, "pages/officials/overview.py")
    assert not at.exception and not at.error
    assert at.title[0].value == "Overview"
    text = "\n".join(str(e.value) for e in [*at.markdown, *at.caption])
    assert "on track: probability ≥ 70%" in text
    assert "What changed since the last period" in [h.value for h in at.subheader]
    chosen = at.selectbox(key="officials_overview_indicator").value
    assert chosen in {"no2_hours_above_200_count", "pm25_annual_mean_ug_m3",
                      "service_requests_on_time_share"}, "opens on an indicator with a trend"
    assert at.get("plotly_chart")
    started = time.perf_counter()
    at.run()
    assert time.perf_counter() - started < 1.0


def test_compare_ranks_districts(ui_store: Path, app_script: Path) -> None:
    at = _open(app_script, Role.OFFICIALS, "pages/officials/compare.py")
    assert not at.exception and not at.error
    assert "Kluuvi" in at.selectbox(key="officials_compare_district").options
    at.selectbox(key="officials_compare_district").set_value("osm-1").run()
    assert not at.exception


def test_analysts_see_backtests(ui_store: Path, app_script: Path) -> None:
    at = _open(app_script, Role.ANALYSTS, "pages/analysts/forecasts.py")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert {"model", "mase", "coverage80", "coverage95", "note"} <= set(table.columns)


def test_brief_is_one_printable_page_of_html(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    try:
        registry = load_registry(indicators_dir())
        card = trends.officials_scorecard(con, registry, role=Role.OFFICIALS)
        changes = trends.what_changed(con, registry, role=Role.OFFICIALS)
    finally:
        con.close()
    page = brief_html(brief_of(card, changes, title="Brief <test>", as_of="31 Dec 2024",
                               sources="osm:Helsinki (ODbL-1.0)", badges=["SIMULATED"]))
    assert page.startswith("<!doctype html>") and "@page" in page
    assert "Brief &lt;test&gt;" in page and "PM2.5 annual mean" in page
    assert "off track" in page and "SIMULATED" in page


def test_the_council_brief_as_pdf_has_every_tile(helsinki_store: Path, tmp_path: Path) -> None:
    """`observatory brief --pdf`: one A4 page, every headline label and value in its text
    (pdftotext), rendered by pdftoppm, within the 5 s budget."""
    out = tmp_path / "brief.pdf"
    started = time.perf_counter()
    assert main(["brief", "--pdf", str(out), "--store", str(helsinki_store)]) == 0
    assert time.perf_counter() - started <= 5.0
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True,
                          capture_output=True, text=True).stdout
    words = " ".join(text.split())
    con = connect_read(helsinki_store)
    try:
        card = trends.officials_scorecard(con, load_registry(indicators_dir()),
                                          role=Role.OFFICIALS)
    finally:
        con.close()
    for row in card.iter_rows(named=True):
        assert " ".join(row["label"].split()[:3]) in words, row["label"]
        assert number(row["value"], row).split()[0] in words, row["label"]
    assert "100.0 %" in words and "28.1 %" in words  # shares: one decimal, by unit
    assert "Includes SIMULATED data" in words and "What changed since the last period" in words
    # the pictures: three trends with their fans and one district map, captioned
    assert "Trends, forecasts and one map" in words
    assert words.count("intervals, target") == 3 and "by district," in words
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(out), str(tmp_path / "page")],
                   check=True)
    assert [p.name for p in tmp_path.glob("page*.png")] == ["page-1.png"]  # one page
    image = (tmp_path / "page-1.png").read_bytes()
    assert len(image) > 20_000  # charts and a map drawn, not a page of text only


def test_brief_pictures_are_svg_of_the_trend_and_the_map(store_registry) -> None:
    """The fan chart draws both intervals, the forecast and every observed period; the map
    one polygon per coarse cell, coloured by the maps' classes, with the legend."""
    con, registry = store_registry
    trend = trends.indicator_trend(con, registry, "pm25_annual_mean_ug_m3", role=Role.OFFICIALS)
    svg = fan_svg(trend, unit="ug_m3")
    assert svg.count("<polygon") == 2 and "stroke-dasharray='3,2'" in svg
    assert svg.count("<circle") == trend.history.height
    assert "target" in svg and trend.history["period"][0] in svg
    period = trends.district_periods(con, registry, "pm25_annual_mean_ug_m3",
                                     role=Role.OFFICIALS)[0]
    _, cells = trends.district_comparison(con, registry, "pm25_annual_mean_ug_m3",
                                          role=Role.OFFICIALS, period=period)
    drawn = map_svg(cells)
    parents = {h3.cell_to_parent(c, 9) for c in cells.cells["h3_hex"].to_list()}
    assert drawn.count("<polygon") == len(parents)
    assert drawn.count("<rect") >= 2 and "µg/m³" in drawn


def test_overview_tiles_one_per_headline_indicator_and_no_none(ui_store: Path,
                                                               app_script: Path) -> None:
    at = _open(app_script, Role.OFFICIALS, "pages/officials/overview.py")
    assert not at.exception, [e.value for e in at.exception]
    buttons = [b for b in at.button if b.label == "Trend and districts"]
    headline = [s for s in load_registry(indicators_dir()).specs.values() if s.spec.headline]
    assert len(buttons) == len(headline)
    text = " ".join(str(m.value) for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "None" not in text and "nan" not in text.split()
    assert "first period: nothing to compare yet" in text and "Target 18" in text
    assert "no target" in text  # the status badge of an indicator without a target
    labels = [b.label for b in at.get("download_button")]
    assert "Download the council brief (PDF)" in labels
    assert "(better)" in text or "(worse)" in text  # coloured by direction, not by sign
    buttons[-1].click().run()
    assert not at.exception
    assert at.selectbox(key="officials_overview_indicator").value == buttons[-1].key[5:]


def test_a_year_under_way_says_so_and_a_finished_one_does_not(store_registry) -> None:
    """The living demo's current year is partial: tiles, the brief and "what changed" label
    it "2026 (to 30 Nov)" rather than read it against a whole year."""
    from datetime import datetime

    assert trends.period_label("2026", datetime(2026, 11, 30, 23), series=True) == \
        "2026 (to 30 Nov)"
    assert trends.period_label("2025", datetime(2026, 11, 30), series=True) == "2025"
    assert trends.period_label("2024", datetime(2024, 12, 31, 23), series=True) == "2024"
    assert trends.period_label("2019", datetime(2019, 6, 1), series=False) == "2019"
    assert trends.period_label("2026-Q3", datetime(2026, 8, 1), series=True) == "2026-Q3"
    con, registry = store_registry  # built for 2025-01-01: its last year is whole
    card = trends.officials_scorecard(con, registry, role=Role.OFFICIALS)
    assert card["period_label"].to_list() == card["period"].to_list()


def test_a_brief_map_of_one_value_says_so_in_words() -> None:
    """A district map where every area holds one value gets a sentence, not a one-colour
    legend; a varied one gets its classes."""
    import polars as pl

    from observatory.views.model import CellMap, Provenance

    def cells(values: list[float]) -> CellMap:
        hexes = ["8a1126d8a1a7fff", "8a1126d8a187fff", "8a1126d8a18ffff"]
        return CellMap(title="t", unit_label="days", resolution=10,
                       provenance=Provenance(unit_label="days", sources=()),
                       cells=pl.DataFrame({"h3_hex": hexes, "value": values}))

    uniform = map_svg(cells([6.0, 6.000000000000001, 6.0]), resolution=10)
    assert "every area: 6 days" in uniform and "<rect" not in uniform
    varied = map_svg(cells([4.0, 6.0, 9.0]), resolution=10)
    assert varied.count("<rect") == 3 and "every area" not in varied


def test_a_share_changes_by_percentage_points() -> None:
    from observatory.views.brief import change_text

    row = {"change": 2.5, "previous_period": "2025", "direction": "higher_is_better",
           "unit": "percent", "unit_label": "%"}
    assert change_text(row) == ("↑ 2.5 percentage points since 2025 (better)", "better")
    hours = {**row, "unit": "hours", "unit_label": "hours", "direction": "lower_is_better"}
    assert change_text(hours) == ("↑ 2.50 hours since 2025 (worse)", "worse")


def test_compare_names_a_year_still_under_way(ui_store: Path, app_script: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The period picker reads as the tiles do: when the data ends inside its newest year,
    that year says how far it goes ("2024 (to 30 Jun)"); finished years stay bare; the
    page shows exactly these labels."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.settings import indicators_dir
    from observatory.views import trends

    at = _open(app_script, Role.OFFICIALS, "pages/officials/compare.py")
    name = at.selectbox(key="officials_compare_indicator").value
    shown = at.selectbox(key="officials_compare_period").options
    con = connect_read(ui_store)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
        labels = trends.district_period_labels(con, registry, name, role=Role.OFFICIALS)
        assert shown == list(labels.values())  # the page shows the view's labels
        newest = next(iter(labels))
        real = trends.provenance_for_tables
        def ending_mid_year(*args: object, **kwargs: object) -> object:
            found = real(*args, **kwargs)
            june = datetime(int(newest), 6, 30, tzinfo=UTC)
            return replace(found, sources=tuple(replace(s, data_as_of=june)
                                                for s in found.sources))

        monkeypatch.setattr(trends, "provenance_for_tables", ending_mid_year)
        mid_year = trends.district_period_labels(con, registry, name, role=Role.OFFICIALS)
    finally:
        con.close()
    assert mid_year[newest] == f"{newest} (to 30 Jun)"
    assert all(label == period for period, label in mid_year.items() if period != newest)
