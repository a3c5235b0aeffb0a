"""The same definitions on Spark (issue 17): translation with the store's macros, what
cannot run on Spark reported with its line before any cluster time, a missing Java runtime
or an unreachable master refused in one line with the snapshot unchanged, and a Spark
build of the Helsinki demo equal to DuckDB's for every indicator, period, resolution and
cell (counts exactly, ratios within 1e-9 relative)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import polars as pl
import pytest

from observatory.settings import REPO_ROOT
from observatory.snapshots import copy_store, current_snapshot
from observatory.spark.compare import differences, results_of
from observatory.spark.translate import TranslationError, store_macros, to_spark
from observatory.store import connect_read

pytest.importorskip("pyspark", reason="the Spark extra (`uv sync --extra spark`)")



@pytest.fixture(scope="module")
def macros(helsinki_store: Path):  # type: ignore[no-untyped-def]
    con = connect_read(helsinki_store)
    try:
        return store_macros(con)
    finally:
        con.close()


def test_macros_are_expanded_and_duckdb_idioms_rewritten(macros) -> None:  # type: ignore[no-untyped-def]
    sql = (REPO_ROOT / "indicators" / "accessibility" / "walk_share.sql").read_text()
    text = to_spark(sql, parameters={"category": "grocery", "speed_kmh": 4.8,
                                     "max_minutes": 15}, macros=macros,
                    tables={"walk_access_origins", "study_cells"})
    assert "walk_reach_cells(" not in text.lower() and "walk_cells(" not in text.lower()
    assert "ELEMENT_AT(" in text and "ARRAY_POSITION(" in text  # 1-based lists, as DuckDB's
    assert "LIST_" not in text and "'grocery'" in text
    parent = to_spark("SELECT h3_parent(h3_cell, 7) AS p FROM study_cells", parameters={},
                      macros=macros, tables={"study_cells"})
    assert "SHIFTLEFT(" in parent and "h3_parent" not in parent  # bit arithmetic, no UDF


@pytest.mark.parametrize(("sql", "words"), [
    ("SELECT h3_cell,\n  jaro_winkler_similarity(name, 'x') AS value\nFROM osm_pois",
     "line 2: Spark has no function `jarowinkler_similarity`"),
    ("SELECT h3_cell, 1 AS value\nFROM osm_pois\nASOF JOIN study_cells USING (h3_cell)",
     "line 3: Spark has no ASOF JOIN"),
    ("SELECT h3_cell, 1 AS value\nFROM read_parquet('/etc/passwd')",
     "line 2: reads `read_parquet`, which is not a table of the store"),
    ("SELECT h3_cell, 1 AS value\nFROM osm_pois WHERE x = $missing",
     "`$missing` has no value"),
])
def test_what_cannot_run_on_spark_is_named_with_its_line(macros, sql: str,  # type: ignore[no-untyped-def]
                                                         words: str) -> None:
    with pytest.raises(TranslationError, match=words.replace("$", r"\$").replace("(", r"\(")):
        to_spark(sql, parameters={}, macros=macros, where="x.sql",
                 tables={"osm_pois", "study_cells"})


def test_validate_with_the_spark_engine_reports_before_any_cluster_time(
    helsinki_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from observatory.cli import main

    folder = tmp_path / "indicators"
    shutil.copytree(REPO_ROOT / "indicators", folder)
    template = (folder / "mobility" / "public_transport_stops_count.yml").read_text()
    (folder / "mobility" / "fuzzy_stops_count.yml").write_text(
        template.replace("public_transport_stops_count", "fuzzy_stops_count"))
    (folder / "mobility" / "fuzzy_stops_count.sql").write_text(
        "SELECT h3_cell,\n       count(*) FILTER (WHERE jaro_winkler_similarity(name, 'stop')"
        " > 0.9) AS value\nFROM osm_pois\nGROUP BY h3_cell\n")
    assert main(["indicators", "validate", "--engine", "spark", "--indicators", str(folder),
                 "--store", str(helsinki_store)]) == 2
    err = capsys.readouterr().err
    assert "1 problem" in err and "fuzzy_stops_count.sql line 2: Spark has no function" in err
    assert main(["indicators", "validate", "--engine", "spark",
                 "--store", str(helsinki_store)]) == 0
    assert "every SQL definition translates for Spark" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_master_or_no_java_is_one_line_and_changes_nothing(
    store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from observatory.cli import main

    snapshot = current_snapshot(store_copy)
    master = f"spark://127.0.0.1:{_free_port()}"
    assert main(["indicators", "compute", "--engine", "spark", "--master", master,
                 "--store", str(store_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--master {master}: nothing answers" in err
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    assert main(["build", "--engine", "spark", "--store", str(store_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no Java runtime for Spark" in err
    assert "openjdk-17-jre-headless" in err
    assert current_snapshot(store_copy) == snapshot


@pytest.mark.slow
def test_a_spark_build_equals_duckdb_everywhere(
    helsinki_store: Path, tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`build --engine spark`: walking access region by region (resolution-8 regions, so
    the small extract has several, each with its halo) and every definition on Spark;
    every indicator, period, resolution and cell equals DuckDB's (counts exactly, ratios
    to 1e-9)."""
    from observatory.cli import main

    copy = copy_store(helsinki_store, tmp_path_factory.mktemp("spark") / "copy.duckdb")
    monkeypatch.setenv("OBSERVATORY_SPARK_REGION_RESOLUTION", "8")
    assert main(["build", "--engine", "spark", "--master", "local[2]",
                 "--store", str(copy)]) == 0
    err = capsys.readouterr().err
    assert "spark: " in err  # the inputs went as Parquet partitions
    assert "spark regions: 10 regions" in err
    duck, spark = results_of(helsinki_store), results_of(copy)
    assert spark.height == duck.height > 10_000
    assert spark["indicator"].n_unique() == duck["indicator"].n_unique() > 60
    off = differences(duck, spark)
    assert off.is_empty(), off.head(5)



def test_regions_give_the_single_machine_distances() -> None:
    """Each region with its halo, by the single-machine engine: the same distances as
    the whole graph, without Spark (the function each Spark task runs)."""
    import numpy as np

    from observatory.bench.accessibility import helsinki_model
    from observatory.network import distances_from_sources
    from observatory.spark.regions import _payload, node_regions, region_distances

    model = helsinki_model()
    graph, (nodes, offsets) = model.graph, model.services["grocery"].snap.entries()
    whole = distances_from_sources(graph, sources=nodes, offsets_m=offsets,
                                   limit_m=model.limit_m)
    regions = node_regions(graph, 8)
    payload, out = _payload(graph, regions), np.full(graph.n_nodes, np.inf)
    for region in np.unique(regions):
        own, found, size = region_distances(payload, int(region), sources=nodes,
                                            offsets_m=offsets, limit_m=model.limit_m)
        assert own.size <= size <= graph.n_nodes
        out[own] = found
    assert np.array_equal(np.isfinite(out), np.isfinite(whole))
    reached = np.isfinite(whole)
    assert np.abs(out[reached] - whole[reached]).max() < 1e-9


def test_a_definition_spark_cannot_run_stops_the_build_before_spark_starts(
    store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every definition is translated before the session starts: a bad one is reported
    with its file and line, exit 2, the snapshot unchanged, and no Spark was started."""
    import observatory.spark.engine as engine
    from observatory.cli import main

    def no_spark(*args: object, **kwargs: object) -> None:
        raise AssertionError("Spark started before the translations were checked")

    monkeypatch.setattr(engine, "spark_session", no_spark)
    folder = tmp_path / "indicators" / "mobility"
    folder.mkdir(parents=True)
    template = (REPO_ROOT / "indicators" / "mobility" /
                "public_transport_stops_count.yml").read_text()
    (folder / "fuzzy_stops_count.yml").write_text(
        template.replace("public_transport_stops_count", "fuzzy_stops_count"))
    (folder / "fuzzy_stops_count.sql").write_text(
        "SELECT h3_cell,\n  count(*) FILTER (WHERE jaro_winkler_similarity(name, 'x') > 0.9)"
        " AS value\nFROM osm_pois GROUP BY h3_cell\n")
    snapshot = current_snapshot(store_copy)
    assert main(["indicators", "compute", "--engine", "spark", "--store", str(store_copy),
                 "--indicators", str(tmp_path / "indicators")]) == 2
    err = capsys.readouterr().err
    assert "fuzzy_stops_count.sql line 2: the query of `fuzzy_stops_count` failed: Spark " \
           "has no function `jarowinkler_similarity`" in err
    assert current_snapshot(store_copy) == snapshot


def test_a_region_s_halo_is_measured_in_ground_metres() -> None:
    """Near the edge of a wide latitude range the local projection overstates east-west
    lengths (min_scale < 1): a neighbour 990 m away on the ground lies more than 1,000
    projected metres off, and must still be in the halo of a 1,000 m search."""
    import numpy as np
    import scipy.sparse as sp

    from observatory.network import EARTH_RADIUS_M, projection_from_lonlat
    from observatory.spark.regions import region_distances

    lats = np.array([44.0, 46.0, 46.0])
    dlon = np.degrees(990 / (EARTH_RADIUS_M * np.cos(np.radians(46.0))))
    lons = np.array([7.0, 7.0, 7.0 + dlon])
    projection = projection_from_lonlat(lons, lat=lats)
    xy = projection.to_xy(lons, lat=lats)
    assert xy[2, 0] - xy[1, 0] > 1000.0 and projection.min_scale < 1
    csr = sp.csr_array((np.array([990.0, 990.0]), (np.array([1, 2]), np.array([2, 1]))),
                       shape=(3, 3))
    graph = {"xy": xy, "data": csr.data, "indices": csr.indices, "indptr": csr.indptr,
             "regions": np.array([1, 2, 3]), "min_scale": projection.min_scale}
    own, found, _ = region_distances(graph, 2, sources=np.array([2]),
                                     offsets_m=np.array([0.0]), limit_m=1000.0)
    assert own.tolist() == [1] and found.tolist() == [990.0]


def test_java_and_file_functions_are_refused(macros) -> None:  # type: ignore[no-untyped-def]
    for call in ("java_method('java.lang.System', 'exit', 1)", "reflect('java.lang.Thread', "
                 "'sleep', 60000)", "input_file_name()"):
        with pytest.raises(TranslationError, match="is not allowed: it runs code or reads"):
            to_spark(f"SELECT h3_cell, {call} AS value\nFROM osm_pois", parameters={},
                     macros=macros, where="x.sql", tables={"osm_pois"})


def test_an_empty_spatial_table_is_exported_with_its_schema(tmp_path: Path) -> None:
    import duckdb

    from observatory.spark.tables import export_tables
    from observatory.store import init_schema

    con = duckdb.connect()
    init_schema(con)
    con.execute("CREATE TABLE empty_cells (h3_cell BIGINT, residents DOUBLE)")
    tables = export_tables(con, tmp_path)
    con.close()
    assert tables["empty_cells"] == ["h3_cell", "residents"]
    files = list((tmp_path / "empty_cells").rglob("*.parquet"))
    assert len(files) == 1 and pl.read_parquet(files[0]).columns == ["h3_cell", "residents"]
