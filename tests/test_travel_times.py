"""`observatory travel-times`: place files, the matrix on Helsinki against networkx, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import polars as pl
import pytest

from observatory.cli import main
from observatory.errors import InputError
from observatory.network import ROUNDING_SLACK_M, graph_from_store
from observatory.snapping import snap_points
from observatory.travel_times import Places, read_places, travel_time_matrix, walk_matrix
from tests.networkx_split import split_graph

if TYPE_CHECKING:
    from tests.conftest_network import WalkStore

pytest_plugins = ["tests.conftest_network"]

EARTH_RADIUS_M = 6_371_008.8
CSV = """ID,Lon,Lat,name
station,24.9414,60.1710,Central station
senate,24.9522,60.1694,Senate square
oodi,24.93804,60.17394,Oodi
"""


def _haversine(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray,
               lat2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def _helsinki_places(walk_store: WalkStore, count: int) -> Places:
    con = walk_store.connect()
    rows = con.execute("SELECT osm_type || '/' || osm_id, lon, lat FROM osm_buildings "
                       "ORDER BY 1").fetchall()
    con.close()
    pick = sorted(np.random.default_rng(3).choice(len(rows), size=count, replace=False))
    return Places(ids=np.array([rows[i][0] for i in pick], dtype=object),
                  lon=np.array([rows[i][1] for i in pick]),
                  lat=np.array([rows[i][2] for i in pick]))


def test_csv_columns_in_any_order_and_case(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(CSV)
    places = read_places(path)
    assert places.ids.tolist() == ["station", "senate", "oodi"]
    assert places.lat.tolist() == [60.1710, 60.1694, 60.17394]


def test_geojson_points_with_ids(tmp_path: Path) -> None:
    path = tmp_path / "p.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"},
         "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}},
        {"type": "Feature", "id": 7, "properties": {},
         "geometry": {"type": "Point", "coordinates": [24.95, 60.168]}}]}))
    places = read_places(path)
    assert places.ids.tolist() == ["a", "7"] and places.lon.tolist() == [24.94, 24.95]


def test_every_problem_of_a_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,lat,lon\na,60.17,24.94\n,60.1,24.9\nb,north,24.9\nc,60.1,200\na,60,24\n")
    with pytest.raises(InputError) as caught:
        read_places(path)
    text = str(caught.value)
    assert f"{path}: line 3: no id" in text
    assert f"{path}: line 4: lat 'north' is not a latitude" in text
    assert f"{path}: line 5: lon '200' is not a longitude" in text
    assert "id 'a' appears 2 times" in text
    missing = tmp_path / "cols.csv"
    missing.write_text("name,lat\nx,60\n")
    with pytest.raises(InputError, match=r"line 1: no column id, lon"):
        read_places(missing)
    points = tmp_path / "lines.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "x"},
         "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}))
    with pytest.raises(InputError, match=r"feature 1: not a Point"):
        read_places(points)


def test_the_matrix_equals_networkx_on_the_split_graph(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    graph = graph_from_store(con)
    con.close()
    places = _helsinki_places(walk_store, 14)
    xy = graph.projection.to_xy(places.lon, lat=places.lat)
    snap = snap_points(graph, xy=xy)
    ours = walk_matrix(graph, snap, snap)
    reference = split_graph(graph, {"p": snap})
    for i in range(places.size):
        lengths = nx.single_source_dijkstra_path_length(reference, ("p", i))
        for j in range(places.size):
            expected = lengths.get(("p", j), np.inf) if i != j else 0.0
            if i == j:
                continue
            assert ours[i, j] == pytest.approx(expected, abs=1e-6), (i, j)


def test_walks_are_never_shorter_than_the_straight_line(walk_store: WalkStore) -> None:
    con = walk_store.connect()
    graph = graph_from_store(con)
    con.close()
    places = _helsinki_places(walk_store, 40)
    times = travel_time_matrix(graph, places, places, speed_kmh=4.8).pairs
    reach = times.drop_nulls("distance_m").join(
        pl.DataFrame({"from_id": places.ids.astype(str), "lon1": places.lon, "lat1": places.lat}),
        on="from_id").join(
        pl.DataFrame({"to_id": places.ids.astype(str), "lon2": places.lon, "lat2": places.lat}),
        on="to_id")
    straight = _haversine(*(reach[c].to_numpy() for c in ("lon1", "lat1", "lon2", "lat2")))
    assert reach.height == 40 * 40  # the extract's buildings all reach each other
    # scaled by the projection's worst length error, less the rounding of lengths
    floor = straight * graph.projection.min_scale - ROUNDING_SLACK_M - 0.05
    assert (reach["distance_m"].to_numpy() >= floor).all()
    minutes = reach["distance_m"] / 80.0
    assert np.allclose(reach["minutes"].to_numpy(), minutes.to_numpy(), atol=0.006)


def test_cli_writes_the_matrix_and_lists_unsnapped_places(walk_store: WalkStore, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    origins = tmp_path / "o.csv"
    origins.write_text(CSV + "sea,24.95,60.150,Gulf of Finland\n")
    out = tmp_path / "times.csv"
    code = main(["travel-times", "--store", str(walk_store.path), "--origins", str(origins),
                 "--destinations", str(origins), "--speed-kmh", "3.6", "--out", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert "not snapped: origin sea is" in err and "not snapped: destination sea" in err
    frame = pl.read_csv(out)
    assert frame.columns == ["from_id", "to_id", "distance_m", "minutes"]
    assert frame.height == 16
    assert frame.filter(pl.col("from_id") == pl.col("to_id"))["distance_m"].to_list()[:3] == [
        0.0, 0.0, 0.0]
    sea = frame.filter((pl.col("from_id") == "sea") | (pl.col("to_id") == "sea"))
    assert sea["distance_m"].null_count() == sea.height == 7  # empty, never 0
    walk = frame.filter((pl.col("from_id") == "station") & (pl.col("to_id") == "senate")).row(
        0, named=True)
    assert 600 < walk["distance_m"] < 1100
    assert walk["minutes"] == pytest.approx(walk["distance_m"] / 60.0, abs=0.01)


def test_cli_refuses_bad_input_with_exit_2(walk_store: WalkStore, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "o.csv"
    good.write_text(CSV)
    args = ["travel-times", "--store", str(walk_store.path), "--destinations", str(good),
            "--out", str(tmp_path / "t.csv")]
    assert main([*args, "--origins", str(tmp_path / "missing.csv")]) == 2
    assert "--origins: " in capsys.readouterr().err
    assert main([*args, "--origins", str(good), "--speed-kmh", "0"]) == 2
    assert "walking speed must be a positive" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_the_command_line_default_speed_is_the_libraries() -> None:
    from observatory.cli_travel import DEFAULT_SPEED_KMH as CLI_DEFAULT
    from observatory.travel_times import DEFAULT_SPEED_KMH

    assert CLI_DEFAULT == DEFAULT_SPEED_KMH
