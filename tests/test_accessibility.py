"""15-minute walking access on the real Helsinki extract: tables, indicators and goldens."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import networkx as nx
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.accessibility import (
    TABLES,
    TARGET_NAMES,
    compute_walk_access,
    model_from_store,
    services_from_points,
    uncertain_companion,
    write_walk_access,
)
from observatory.accessibility.macros import create_macros
from observatory.accessibility.targets import OSM_TARGET_NAMES
from observatory.connectors import silent_progress
from observatory.datasets import known_datasets
from observatory.registry import load_registry
from observatory.registry.engine import compute_all
from observatory.settings import indicators_dir
from observatory.snapshots import copy_store
from observatory.store import connect_read, read_frame, table_names, write_session

if TYPE_CHECKING:
    from observatory.accessibility import AccessModel
    from tests.conftest_network import WalkStore

from tests.networkx_split import split_graph

pytest_plugins = ["tests.conftest_network"]

FOLDER = indicators_dir() / "accessibility"
RESIDENTS = 21936.133000  # modelled residents of the extract
# Whole-area values on the central-Helsinki extract: the figures the dashboard shows (since
# points snap to the nearest edge and the walking graph follows observatory.walkable).
GOLDEN = {
    "grocery_15min_walk_share": 100.0,
    "grocery_15min_walk_uncertain_share": 0.0,
    "grocery_15min_slow_walk_uncertain_share": 0.0,
    "grocery_walk_minutes": 1.782564,
    "pharmacy_15min_walk_uncertain_share": 5.206356,
    "school_15min_slow_walk_uncertain_share": 7.780969,
    "fifteen_minute_score_index": 6.0,
    "fifteen_minute_score_uncertain_share": 3.603551,
    "sdg_11_2_1_public_transport_access_share": 100.0,
    "sdg_11_2_1_public_transport_access_uncertain_share": 0.0,
    "sdg_11_7_1_open_space_access_share": 99.475530,
    "sdg_11_7_1_open_space_access_uncertain_share": 2.215034,
}


def _whole(con: duckdb.DuckDBPyConnection, indicator: str) -> dict[str, float]:
    frame = read_frame(con, "SELECT value, numerator, denominator FROM indicator_results "
                            "WHERE indicator = $i AND resolution IS NULL", {"i": indicator})
    return frame.row(0, named=True)


def test_the_record_is_derived_modelled_provenance(walk_store: WalkStore) -> None:
    record = walk_store.record
    assert (record.source_id, record.type, record.sha256) == ("derived:walk_access", "derived", "-")
    assert record.licence == "ODbL-1.0 (derived from OpenStreetMap)"
    assert record.modelled and not record.simulated
    assert record.row_counts == {"walk_access_origins": 3700, "walk_access_cells": 3200,
                                 "walk_access_services": 2307}
    assert record.issues == []  # every building and service of the extract snaps
    con = walk_store.connect()
    assert set(TABLES) <= set(table_names(con))
    con.close()


def test_residents_are_conserved_in_every_table(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    total = con.sql("SELECT sum(population) FROM population_cells").fetchall()[0][0]
    per_target = con.sql("SELECT category, sum(residents) FROM walk_access_origins "
                         "GROUP BY 1").fetchall()
    cells = read_frame(con, "SELECT * FROM walk_access_cells")
    con.close()
    assert total == pytest.approx(RESIDENTS, abs=1e-3)
    assert sorted(t for t, _ in per_target) == sorted(OSM_TARGET_NAMES)
    assert all(r == pytest.approx(total, rel=1e-12) for _, r in per_target)
    sums = cells.group_by("category", "variant").agg(pl.col("residents").sum())
    assert sums.height == len(OSM_TARGET_NAMES) * 2
    assert np.allclose(sums["residents"].to_numpy(), total, rtol=1e-12)
    parts = cells["residents_served_15min"] + cells["residents_unserved_15min"] + cells[
        "residents_uncertain_15min"]
    assert np.allclose(parts.to_numpy(), cells["residents"].to_numpy(), atol=1e-9)


def test_an_origins_walk_is_its_snap_plus_the_network_plus_the_services_snap(
        walk_model: AccessModel) -> None:
    """Recomputed origin by origin with networkx on the graph split at every point."""
    services = walk_model.services["pharmacy"]
    picked = np.arange(0, walk_model.origins.size, 37)
    reference = split_graph(walk_model.graph, {
        "origin": walk_model.origins.snap.take(picked), "service": services.snap})
    ours = walk_model.distances("pharmacy")
    for k, i in enumerate(picked):
        lengths = nx.single_source_dijkstra_path_length(reference, ("origin", k))
        walks = [d for node, d in lengths.items()
                 if isinstance(node, tuple) and node[0] == "service"]
        expected = min(walks) if walks and min(walks) <= walk_model.limit_m else np.inf
        assert ours[i] == pytest.approx(expected, abs=1e-6)


def test_minutes_are_the_walk_at_each_speed(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    cells = read_frame(con, "SELECT * FROM walk_access_cells WHERE distance_m IS NOT NULL")
    con.close()
    expected = cells["distance_m"] / (cells["speed_kmh"] * 1000 / 60)
    assert np.allclose(cells["minutes"].to_numpy(), expected.to_numpy())
    assert set(cells["speed_kmh"].unique().to_list()) == {4.8, 3.6}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_whole_area_goldens(walk_store: WalkStore, name: str) -> None:
    con = walk_store.connect()
    whole = _whole(con, name)
    con.close()
    assert whole["value"] == pytest.approx(GOLDEN[name], abs=1e-5)
    assert walk_store.results[name].whole_area_value == pytest.approx(GOLDEN[name], abs=1e-5)


def test_flagged_cells_golden(walk_store: WalkStore) -> None:
    """Cells whose map time or residents' status could change beyond the extract."""
    con = walk_store.connect()
    uncertain_time = con.sql("SELECT count(*) FROM walk_access_cells WHERE category = 'grocery' "
                             "AND variant = 'walk' AND NOT minutes_certain").fetchall()[0][0]
    uncertain_residents = con.sql(
        "SELECT count(*) FROM walk_access_cells WHERE category = 'pharmacy' "
        "AND variant = 'walk' AND residents_uncertain_15min > 0").fetchall()[0][0]
    cells = con.sql("SELECT count(*) FROM study_cells").fetchall()[0][0]
    con.close()
    assert (cells, uncertain_time, uncertain_residents) == (160, 104, 6)


def test_every_share_lies_in_0_100_at_every_resolution(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    rows = read_frame(con, "SELECT indicator, value, numerator, denominator FROM "
                           "indicator_results WHERE indicator LIKE '%_share'")
    con.close()
    assert rows["indicator"].n_unique() == 8 * 5 + 4 + 1  # 8 categories, 2 SDGs, the score
    values = rows["value"].drop_nulls()
    assert values.min() >= 0.0 and values.max() <= 100.0 + 1e-9
    assert (rows["numerator"] <= rows["denominator"] + 1e-9).all()


def test_rollups_conserve_residents(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    sums = read_frame(con, """
        SELECT indicator, resolution, sum(denominator) AS residents FROM indicator_results
        WHERE indicator IN $names GROUP BY ALL""", {"names": list(walk_store.results)})
    con.close()
    whole = sums.filter(pl.col("resolution").is_null()).select("indicator", whole="residents")
    joined = sums.drop_nulls("resolution").join(whole, on="indicator")
    assert joined.height == len(walk_store.results) * 4  # resolutions 10, 9, 8, 7
    assert np.allclose(joined["residents"].to_numpy(), joined["whole"].to_numpy(), rtol=1e-12)
    everyone = whole.filter(pl.col("indicator").str.ends_with("_uncertain_share"))
    assert np.allclose(everyone["whole"].to_numpy(), RESIDENTS, atol=1e-3)


def test_certain_and_uncertain_residents_add_up_to_everyone(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    for name in [n for n in walk_store.results if not n.endswith("_uncertain_share")]:
        certain = _whole(con, name)["denominator"]
        uncertain = _whole(con, uncertain_companion(name))["numerator"]
        assert certain + uncertain == pytest.approx(RESIDENTS, abs=1e-3), name
    con.close()


def test_each_indicator_has_its_uncertain_companion(walk_store: WalkStore) -> None:
    names = set(walk_store.results)
    assert len(names) == 54
    for name in names - {n for n in names if n.endswith("_uncertain_share")}:
        assert uncertain_companion(name) in names, name
    for category in TARGET_NAMES[:8]:
        assert {f"{category}_15min_walk_share", f"{category}_15min_slow_walk_share",
                f"{category}_walk_minutes"} <= names


def test_definitions_validate_and_state_their_method() -> None:
    registry = load_registry(FOLDER, known_inputs=known_datasets() | set(TABLES))
    assert registry.all_problems() == []
    for name, loaded in registry.specs.items():
        spec = loaded.spec
        assert spec.theme == "accessibility" and spec.aggregation == "ratio"
        deviations = spec.method.deviations_in("en")
        assert spec.method.standard_in("en") and deviations != "none"
        if not name.endswith("_uncertain_share"):  # each names the companion it leaves out to
            assert f"`{uncertain_companion(name)}`" in " ".join(deviations.split())
    headline = sorted(n for n, loaded in registry.specs.items() if loaded.spec.headline)
    assert headline == ["fifteen_minute_score_index", "grocery_15min_walk_share",
                        "sdg_11_2_1_public_transport_access_share",
                        "sdg_11_7_1_open_space_access_share"]


_ORIGIN = st.tuples(st.integers(0, 3), st.floats(0, 500),
                    st.one_of(st.none(), st.floats(0, 3000)), st.floats(0, 2000))


@settings(max_examples=60, deadline=None)
@given(origins=st.lists(_ORIGIN, max_size=25), minutes=st.sampled_from([5.0, 15.0, 30.0]))
def test_share_sql_invariants(origins: list[tuple[int, float, float | None, float]],
                              minutes: float) -> None:
    """Shares stay in [0, 100]; served, certain and uncertain residents add up."""
    con = duckdb.connect()
    frame = pl.DataFrame({
        "h3_cell": [o[0] for o in origins], "residents": [o[1] for o in origins],
        "distance_m": [o[2] for o in origins], "certain_within_m": [o[3] for o in origins],
        "category": ["grocery"] * len(origins), "origin_id": [str(i) for i in range(len(origins))],
    }, schema_overrides={"h3_cell": pl.Int64, "residents": pl.Float64,
                         "distance_m": pl.Float64, "certain_within_m": pl.Float64})
    con.register("walk_access_origins", frame.to_arrow())
    con.execute("CREATE TABLE study_cells AS SELECT range AS h3_cell FROM range(4)")
    create_macros(con)
    params = {"category": "grocery", "speed_kmh": 4.8, "max_minutes": minutes}
    share = read_frame(con, (FOLDER / "walk_share.sql").read_text(), params).sort("h3_cell")
    unsure = read_frame(con, (FOLDER / "walk_uncertain_share.sql").read_text(), params).sort(
        "h3_cell")
    con.close()
    assert share.height == unsure.height == 4
    for frame_ in (share, unsure):
        values = frame_["value"].drop_nulls()
        assert values.is_empty() or (values.min() >= 0 and values.max() <= 100 + 1e-9)
        assert (frame_["numerator"] <= frame_["denominator"] + 1e-9).all()
    total = share["denominator"] + unsure["numerator"]
    assert np.allclose(total.to_numpy(), unsure["denominator"].to_numpy(), atol=1e-6)


def _copy(walk_store: WalkStore, tmp_path: Path) -> Path:
    return copy_store(walk_store.path, tmp_path / "copy.duckdb")


def test_a_category_without_services_is_not_reachable(walk_store: WalkStore,
                                                      tmp_path: Path) -> None:
    path = _copy(walk_store, tmp_path)
    with write_session(path) as con:
        con.execute("DELETE FROM osm_pois WHERE category = 'school'")
        compute_walk_access(con, progress=silent_progress)
        from tests.conftest_network import accessibility_registry

        results = {r.indicator: r for r in compute_all(
            con, accessibility_registry(con),
            names=["school_15min_walk_share", "school_walk_minutes", "grocery_walk_minutes"])}
    con = connect_read(path)
    schools = con.sql("SELECT count(distance_m), count(*) FROM walk_access_origins "
                      "WHERE category = 'school'").fetchall()[0]
    minutes = con.sql("SELECT count(minutes), count(*) FROM walk_access_cells "
                      "WHERE category = 'school'").fetchall()[0]
    con.close()
    assert schools == (0, 370) and minutes == (0, 320)  # NULL: not reachable, never 0
    # Nobody is served; an unserved resident is only certain far from the extract's edge,
    # which no one here is, so the share has no certain resident and no value.
    assert results["school_15min_walk_share"].whole_area_value is None
    assert results["grocery_walk_minutes"].whole_area_value == pytest.approx(
        GOLDEN["grocery_walk_minutes"])


def test_unsnappable_points_are_reported_with_their_location(walk_store: WalkStore,
                                                             tmp_path: Path) -> None:
    path = _copy(walk_store, tmp_path)
    messages: list[str] = []
    with write_session(path) as con:
        con.execute("INSERT INTO osm_pois (poi_id, osm_type, osm_id, category, lon, lat, "
                    "h3_cell) SELECT 'node/999', 'node', 999, 'grocery', 25.2, 60.17, h3_cell "
                    "FROM osm_pois LIMIT 1")
        con.execute("UPDATE osm_buildings SET lon = 24.8, lat = 60.1 WHERE osm_id = 29072452")
        record = compute_walk_access(con, progress=messages.append)
        far = con.sql("SELECT distance_m, certain_within_m, snapped FROM walk_access_origins "
                      "WHERE origin_id = 'way/29072452' AND category = 'grocery'").fetchall()
    assert len(record.issues) == 2
    service, building = sorted(record.issues, key=lambda m: "service" not in m)
    assert "service node/999 (grocery) at lon 25.200000, lat 60.170000" in service
    assert "limit 250 m" in service
    assert "origin way/29072452 (building, 166.5 residents) at lon 24.800000, " \
           "lat 60.100000" in building
    assert far == [(None, 0.0, False)]  # its residents count as uncertain, never as served
    assert any("snap issues" in m for m in messages)


def test_one_new_service_reruns_only_its_target(walk_store: WalkStore, tmp_path: Path) -> None:
    path = _copy(walk_store, tmp_path)
    with write_session(path) as con:
        model = model_from_store(con)
        before = {t: d for t, d in model.node_distances.items()}
        i = int(np.argmax(model.distances("pharmacy")))  # the resident farthest from one
        old = model.services["pharmacy"]
        model.with_services(services_from_points(
            model.graph, target="pharmacy", ids=np.r_[old.ids, ["scenario/1"]],
            lon=np.r_[old.lon, model.origins.lon[i]], lat=np.r_[old.lat, model.origins.lat[i]]))
        untouched = read_frame(con, "SELECT * FROM walk_access_origins WHERE category <> "
                                    "'pharmacy' ORDER BY category, origin_id")
        write_walk_access(con, model=model, targets=["pharmacy"])
        after = read_frame(con, "SELECT * FROM walk_access_origins WHERE category <> "
                                "'pharmacy' ORDER BY category, origin_id")
        changed = con.sql("SELECT distance_m FROM walk_access_origins WHERE category = "
                          "'pharmacy' AND origin_id = $id", params={"id": model.origins.ids[i]}
                          ).fetchall()[0][0]
    assert all(model.node_distances[t] is before[t] for t in before if t != "pharmacy")
    assert model.node_distances["pharmacy"] is not before["pharmacy"]
    assert after.equals(untouched)
    # the new pharmacy stands at the resident's door: walk to the node and back
    assert changed == pytest.approx(2 * model.origins.snap.distance_m[i])


def test_the_dataset_list_names_the_walk_access_tables() -> None:
    from observatory.datasets import WALK_ACCESS_TABLES

    assert WALK_ACCESS_TABLES == TABLES
