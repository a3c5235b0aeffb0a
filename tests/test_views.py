"""Views: role filtering, disclosure control, resolution bounds, scorecard, provenance."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatory import views
from observatory.datasets import known_datasets
from observatory.errors import UnknownDatasetError, UnknownIndicatorError
from observatory.registry import Registry, load_registry
from observatory.registry.spec import Target
from observatory.roles import (
    DEFAULT_ROLE,
    IndicatorNotVisibleError,
    Role,
    UnknownRoleError,
    role_from_name,
)
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views.colours import (
    class_breaks,
    class_of,
    format_value,
    legend_labels,
    viridis,
)
from observatory.views.indicators import chosen_target, target_status

INTERNAL = "residents_modelled_count"
STAFF = [Role.OFFICIALS, Role.OPERATIONS, Role.ANALYSTS]


@pytest.fixture(scope="module")
def con(ui_store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect_read(ui_store)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def registry(con: duckdb.DuckDBPyConnection) -> Registry:
    return load_registry(indicators_dir(), known_inputs=known_datasets(con))


def _computed(con: duckdb.DuckDBPyConnection, registry: Registry) -> list[str]:
    names = set(views.indicator_catalogue(con, registry, role=Role.ANALYSTS)
                .filter(pl.col("has_results"))["name"].to_list())
    return sorted(names)


# -- roles -------------------------------------------------------------------------------

def test_roles_have_labels_and_public_is_the_default() -> None:
    assert [r.label for r in Role] == ["Officials", "Operations", "Public portal", "Analysts",
                                       "Planners"]
    assert DEFAULT_ROLE is Role.PUBLIC
    assert role_from_name(None) is Role.PUBLIC
    assert role_from_name(" Analysts ") is Role.ANALYSTS
    with pytest.raises(UnknownRoleError, match="unknown role `mayor`"):
        role_from_name("mayor")


def test_public_catalogue_never_lists_internal_indicators(con, registry) -> None:
    public = views.indicator_catalogue(con, registry, role=Role.PUBLIC)
    assert INTERNAL not in public["name"].to_list()
    assert set(public["visibility"].to_list()) == {"public"}
    for role in STAFF:
        assert INTERNAL in views.indicator_catalogue(con, registry, role=role)["name"].to_list()


def test_public_request_for_internal_indicator_raises_as_unknown(con, registry) -> None:
    with pytest.raises(IndicatorNotVisibleError, match="no indicator named"):
        views.visible_spec(registry, INTERNAL, role=Role.PUBLIC)
    for call in (
        lambda: views.indicator_cells(con, registry, INTERNAL, role=Role.PUBLIC,
                                      resolution=10, period="2019"),
        lambda: views.indicator_summary(con, registry, INTERNAL, role=Role.PUBLIC),
        lambda: views.indicator_methodology(con, registry, INTERNAL, role=Role.PUBLIC),
        lambda: views.indicator_map(con, registry, INTERNAL, role=Role.PUBLIC,
                                    resolution=10, period="2019"),
        lambda: views.whole_area_trend(con, registry, INTERNAL, role=Role.PUBLIC),
        lambda: views.available_periods(con, registry, INTERNAL, role=Role.PUBLIC),
    ):
        with pytest.raises(UnknownIndicatorError):
            call()


def test_public_scorecard_and_registry_hide_internal(con, registry) -> None:
    card = views.headline_scorecard(con, registry, role=Role.PUBLIC)
    assert INTERNAL not in card["name"].to_list()
    status = views.registry_status(con, registry, role=Role.PUBLIC)
    assert INTERNAL not in status["name"].to_list()
    assert set(status["status"].to_list()) <= {"valid"}  # invalid files: visibility unknown


# -- disclosure control ------------------------------------------------------------------

def test_no_published_cell_rests_on_fewer_than_min_count(con, registry) -> None:
    checked = 0
    for name in _computed(con, registry):
        loaded = registry.get(name)
        spec = loaded.spec
        if spec.visibility != "public":
            continue
        for period in views.available_periods(con, name=name):
            counts = views.available_resolutions(con, name=name, period=period)
            for resolution, total in counts.items():
                cells = views.indicator_cells(con, registry, name, role=Role.PUBLIC,
                                              resolution=resolution, period=period)
                column = "denominator" if spec.aggregation == "ratio" else "value"
                assert cells.cells[column].null_count() == 0
                assert (cells.cells[column] >= spec.min_count).all(), (name, resolution)
                assert cells.cells.height + cells.suppressed == total
                checked += 1
    assert checked > 0


def test_suppression_happens_and_staff_see_every_cell(con, registry) -> None:
    loaded = registry.get("grocery_stores_per_1k")
    period = views.available_periods(con, name=loaded.spec.name)[0]
    name = loaded.spec.name
    public = views.indicator_cells(con, registry, name, role=Role.PUBLIC, resolution=10,
                                   period=period)
    staff = views.indicator_cells(con, registry, name, role=Role.OFFICIALS, resolution=10,
                                  period=period)
    assert public.suppressed > 0, "central Helsinki has cells with under 11 modelled residents"
    assert staff.suppressed == 0
    assert staff.cells.height == public.cells.height + public.suppressed
    assert set(public.cells["h3_hex"].to_list()) < set(staff.cells["h3_hex"].to_list())


@given(
    counts=st.lists(st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)), max_size=60),
    min_count=st.integers(1, 50),
    aggregation=st.sampled_from(["ratio", "sum"]),
)
def test_suppress_small_cells_keeps_only_large_cells(
    counts: list[float | None], min_count: int, aggregation: str
) -> None:
    frame = pl.DataFrame({"h3_hex": [str(i) for i in range(len(counts))], "value": counts,
                          "denominator": counts}, schema={"h3_hex": pl.String,
                                                          "value": pl.Float64,
                                                          "denominator": pl.Float64})
    kept, dropped = views.suppress_small_cells(frame, min_count=min_count,
                                               aggregation=aggregation)
    assert kept.height + dropped == frame.height
    column = "denominator" if aggregation == "ratio" else "value"
    assert kept[column].null_count() == 0
    assert (kept[column] >= min_count).all()


# -- resolutions -------------------------------------------------------------------------

@pytest.mark.parametrize(("n_cells", "expected"), [
    (0, 10), (160, 10), (19_999, 10), (20_000, 9), (139_993, 9), (139_994, 8), (10**9, 7)])
def test_choose_resolution_examples(n_cells: int, expected: int) -> None:
    assert views.choose_resolution(n_cells) == expected


@given(st.integers(0, 10**10), st.integers(7, 10))
def test_choose_resolution_keeps_maps_under_the_limit(n_cells: int, base: int) -> None:
    resolution = views.choose_resolution(n_cells, base_resolution=base)
    assert 7 <= resolution <= base
    estimates = {base: n_cells}
    for res in range(base - 1, 6, -1):
        estimates[res] = math.ceil(estimates[res + 1] / 7)
    assert estimates[resolution] < views.MAX_MAP_CELLS or resolution == 7
    if resolution < base:  # one level finer would have been too many cells
        assert estimates[resolution + 1] >= views.MAX_MAP_CELLS


def test_map_resolutions_drop_resolutions_over_the_limit() -> None:
    assert views.map_resolutions({10: 25_000, 9: 3_600, 8: 500, 7: 70}) == [9, 8, 7]
    assert views.map_resolutions({10: 160, 9: 31}) == [10, 9]


# -- summaries and the scorecard ---------------------------------------------------------

def test_scorecard_lists_headline_indicators_with_target_status(con, registry) -> None:
    card = views.headline_scorecard(con, registry, role=Role.OFFICIALS)
    headline = {s.spec.name for s in registry.specs.values() if s.spec.headline}
    assert set(card["name"].to_list()) == headline
    for row in card.iter_rows(named=True):
        declared = registry.get(row["name"]).spec.targets
        assert (row["status"] == "no target declared") == (not declared)
        assert row["value"] is not None and row["period"] is not None


def test_target_status_follows_direction() -> None:
    target = Target(value=90, by=dt.date(2030, 12, 31), source="Metropolitan plan")
    assert target_status(95, target, direction="higher_is_better").status == "met"
    assert target_status(80, target, direction="higher_is_better").status == "not met"
    assert target_status(80, target, direction="lower_is_better").status == "met"
    assert target_status(None, target, direction="lower_is_better").status == "no value"
    assert target_status(1, target, direction="neutral").status == "target declared"
    early = Target(value=50, by=dt.date(2025, 1, 1), source="old plan")
    assert chosen_target([early, target], today=dt.date(2026, 1, 1)) == target
    assert chosen_target([early, target], today=dt.date(2031, 1, 1)) == target
    assert chosen_target([], today=dt.date(2026, 1, 1)) is None


def test_summary_has_unit_sources_licence_and_data_as_of(con, registry) -> None:
    summary = views.indicator_summary(con, registry, "grocery_stores_per_1k",
                                      role=Role.PUBLIC)
    assert summary.value is not None and summary.unit_label == "per 1,000 residents"
    licences = {s.licence for s in summary.provenance.sources}
    assert any("ODbL" in licence for licence in licences)
    assert summary.provenance.modelled, "per-1k indicators rest on modelled residents"
    assert summary.provenance.data_as_of is not None


def test_every_computed_indicator_has_a_map_for_staff(con, registry) -> None:
    for name in _computed(con, registry):
        period = views.available_periods(con, name=name)[0]
        resolution = views.map_resolutions(
            views.available_resolutions(con, name=name, period=period))[0]
        cells = views.indicator_cells(con, registry, name, role=Role.ANALYSTS,
                                      resolution=resolution, period=period)
        assert cells.cells.height > 0 and cells.cells["h3_hex"].str.len_chars().min() == 15
        assert cells.provenance.sources


def test_ranked_cells_put_the_best_first(con, registry) -> None:
    loaded = registry.get("public_transport_stops_count")
    period = views.available_periods(con, name=loaded.spec.name)[0]
    ranked = views.ranked_cells(con, registry, loaded.spec.name, role=Role.OFFICIALS,
                                resolution=9, period=period, limit=5)
    assert ranked["rank"].to_list() == [1, 2, 3, 4, 5]
    assert ranked["value"].to_list() == sorted(ranked["value"].to_list(), reverse=True)
    walk = "grocery_walk_minutes"  # lower is better: the shortest walks first
    walk_period = views.available_periods(con, name=walk)[0]
    lowest = views.ranked_cells(con, registry, walk, role=Role.OFFICIALS, resolution=9,
                                period=walk_period, limit=3)
    assert lowest["value"].to_list() == sorted(lowest["value"].to_list())


# -- datasets and sources ----------------------------------------------------------------

def test_sources_catalogue_reports_freshness(con) -> None:
    sources = views.sources_catalogue(con)
    osm = sources.filter(pl.col("source_id").str.starts_with("osm:")).row(0, named=True)
    assert osm["freshness"].startswith("stale"), "the embedded extract is from 2019"
    assert osm["rows"] > 0 and "osm_pois" in osm["row_counts"]
    fresh = views.sources_catalogue(con, now=osm["data_as_of"] + dt.timedelta(days=1))
    osm_then = fresh.filter(pl.col("source_id") == osm["source_id"]).row(0, named=True)
    assert osm_then["freshness"] == "fresh"


def test_poi_counts_conserve_the_points_at_every_resolution(con) -> None:
    pois = con.execute("SELECT count(*) FROM osm_pois WHERE h3_cell IS NOT NULL").fetchall()
    for resolution in views.coverage_resolutions(con):
        cells = views.poi_counts_by_cell(con, role=Role.PUBLIC, resolution=resolution)
        assert cells.cells["value"].sum() == pois[0][0]
        assert cells.resolution == resolution


def test_public_cannot_map_modelled_residents(con) -> None:
    assert "population_cells" not in views.mappable_tables(con, role=Role.PUBLIC)
    assert "population_cells" in views.mappable_tables(con, role=Role.ANALYSTS)
    with pytest.raises(UnknownDatasetError, match="no mappable dataset"):
        views.dataset_cells(con, "population_cells", role=Role.PUBLIC, resolution=9)


def test_dataset_catalogue_counts_every_table(con) -> None:
    catalogue = views.dataset_catalogue(con)
    rows = dict(zip(catalogue["table"].to_list(), catalogue["rows"].to_list(), strict=True))
    assert rows["osm_pois"] == con.execute("SELECT count(*) FROM osm_pois").fetchall()[0][0]
    assert {"sources", "indicator_results"} <= set(rows)


def test_street_context_has_segments_inside_the_study_area(con) -> None:
    streets = views.street_context(con, max_segments=500)
    assert 0 < streets.height <= 500
    assert streets["from_lat"].is_between(59, 61).all()


def test_registry_status_lists_invalid_files_for_analysts(tmp_path: Path, con) -> None:
    folder = tmp_path / "indicators" / "services"
    folder.mkdir(parents=True)
    (folder / "broken_count.yml").write_text("indicator:\n  name: broken_count\n")
    registry = load_registry(tmp_path / "indicators", known_inputs=known_datasets(con))
    status = views.registry_status(con, registry, role=Role.ANALYSTS)
    broken = status.filter(pl.col("name") == "broken_count").row(0, named=True)
    assert broken["status"] == "invalid" and "line" in broken["problems"]
    assert views.registry_status(con, registry, role=Role.PUBLIC).is_empty()


# -- colours -----------------------------------------------------------------------------

def test_colour_scale_is_viridis_with_quantile_classes() -> None:
    assert viridis(0) == (0x44, 0x01, 0x54) and viridis(1) == (0xFD, 0xE7, 0x25)
    breaks = class_breaks([0, 0, 0, 1, 2, 3, 4, 5, 6, 100])
    assert breaks == sorted(set(breaks)) and breaks[0] == 0 and breaks[-1] == 100
    assert class_of(0, breaks) == 0 and class_of(100, breaks) == len(breaks) - 2
    assert class_of(None, breaks) is None
    assert format_value(28.14, unit="%") == "28.1%"
    assert format_value(11798.7, unit="per km²") == "11,799 per km²"
    assert format_value(None) == "no value"


def test_sparse_values_keep_a_class_for_zero_and_legend_shows_real_ranges() -> None:
    values = [0.0] * 60 + [0.5, 1, 1.5, 2, 3, 4, 5, 10, 50, 113]
    breaks = class_breaks(values)
    assert len(breaks) == 6, "zeros get one class, the rest share four"
    assert legend_labels(values, breaks) == ["0", "0.5–1", "1.5–2", "3–5", "10–113"]
    assert legend_labels([3.0, 3.0], class_breaks([3.0, 3.0])) == ["3"]
