"""The OSM connector on the real central-Helsinki extract: golden figures and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_sources.osm_pbf import check_pbf
from observatory.build import default_pbf
from observatory.cli import main
from observatory.errors import SourceFileError
from observatory.store import connect_read

GOLDEN_POIS = {
    "culture_library": 37, "grocery": 27, "healthcare": 15, "park": 21, "pharmacy": 6,
    "public_transport": 182, "school": 4, "sport": 16,
}


def _rows(path: Path, query: str) -> list[tuple]:
    con = connect_read(path)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_golden_counts(helsinki_store: Path) -> None:
    counts = dict(_rows(helsinki_store, "SELECT category, count(*) FROM osm_pois GROUP BY 1"))
    assert counts == GOLDEN_POIS
    (nodes, edges, buildings, cells), = _rows(helsinki_store, """
        SELECT (SELECT count(*) FROM osm_nodes), (SELECT count(*) FROM osm_edges),
               (SELECT count(*) FROM osm_buildings), (SELECT count(*) FROM study_cells)""")
    assert (nodes, edges, buildings, cells) == (6948, 8484, 486, 160)


def test_the_walking_graph_follows_the_tag_rule(helsinki_store: Path) -> None:
    """Cycleways that allow feet and platforms are in; every node belongs to an edge."""
    ways = dict(_rows(helsinki_store, "SELECT highway, count(DISTINCT way_id) FROM osm_edges "
                      "GROUP BY 1"))
    assert ways["cycleway"] == 85  # the extract's cycleways tagged foot=yes or designated
    assert ways["platform"] == 104  # highway=platform, railway=platform, public_transport=…
    assert "motorway" not in ways
    (orphans, underground), = _rows(helsinki_store, """
        SELECT (SELECT count(*) FROM osm_nodes WHERE node_id NOT IN
                    (SELECT u FROM osm_edges UNION SELECT v FROM osm_edges)),
               (SELECT count(DISTINCT way_id) FROM osm_edges WHERE NOT ground_level)""")
    assert orphans == 0
    assert underground == 262  # tunnels, other layers, indoor corridors


def test_golden_population(helsinki_store: Path) -> None:
    (cells, total, biggest), = _rows(
        helsinki_store, "SELECT count(*), sum(population), max(population) FROM population_cells")
    assert cells == 115
    assert total == pytest.approx(21936.1, abs=0.5)
    assert biggest == pytest.approx(684.7, abs=0.5)


def test_every_spatial_row_has_a_resolution_10_cell(helsinki_store: Path) -> None:
    for table in ("osm_nodes", "osm_pois", "osm_buildings", "study_cells", "population_cells"):
        (bad,), = _rows(helsinki_store, f"SELECT count(*) FROM {table} "
                        "WHERE h3_cell IS NULL OR h3_resolution(h3_cell) <> 10")
        assert bad == 0, table


def test_provenance(helsinki_store: Path) -> None:
    rows = _rows(helsinki_store, "SELECT source_id, licence, sha256, row_counts, simulated, "
                 "modelled, data_as_of FROM sources WHERE NOT simulated ORDER BY 1")
    walk, districts, osm, population = rows
    assert districts[0] == "districts:osm" and districts[5] is True  # modelled edges
    assert walk[0] == "derived:walk_access" and walk[5] is True
    assert osm[0] == "osm:Helsinki" and osm[1] == "ODbL-1.0" and len(osm[2]) == 64
    assert json.loads(osm[3])["osm_pois"] == sum(GOLDEN_POIS.values())
    assert osm[4] is False and osm[5] is False
    assert osm[6].year == 2019
    assert population[5] is True and population[4] is False


def test_simulated_feeds_are_flagged(helsinki_store: Path) -> None:
    rows = _rows(helsinki_store, "SELECT source_id, type, path, licence FROM sources "
                 "WHERE simulated ORDER BY 1")
    assert [r[0] for r in rows] == [
        "service_requests:simulated_service_requests", "timeseries:simulated_sensors:no2",
        "timeseries:simulated_sensors:pm25", "timeseries:simulated_sensors:temperature"]
    assert all("observatory/demo_feeds.py" in r[2] and "simulated" in r[3] for r in rows)


def test_public_transport_capacity_classes(helsinki_store: Path) -> None:
    classes = dict(_rows(helsinki_store, "SELECT pt_capacity, count(*) FROM osm_pois "
                         "WHERE category = 'public_transport' GROUP BY 1"))
    assert classes == {"high": 37, "low": 145}


def test_check_pbf_accepts_the_real_extract() -> None:
    assert check_pbf(default_pbf()) == 5


@pytest.mark.parametrize("cut", [10, 300_000])
def test_truncated_pbf_is_refused(tmp_path: Path, cut: int) -> None:
    bad = tmp_path / "cut.osm.pbf"
    bad.write_bytes(default_pbf().read_bytes()[:cut])
    with pytest.raises(SourceFileError, match=r"cut\.osm\.pbf: (truncated|is not)"):
        check_pbf(bad)


@pytest.mark.parametrize("content", [b"", b"<osm></osm>", b"\x00\x00\x00\x0dnot a header!"])
def test_non_pbf_is_refused(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(content)
    with pytest.raises(SourceFileError, match="bad.osm.pbf"):
        check_pbf(bad)


@pytest.mark.parametrize("name", ["missing.osm.pbf", "truncated.osm.pbf", "text.osm.pbf"])
def test_bad_ingest_exits_2_and_leaves_the_store_byte_for_byte(
    store_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    bad = tmp_path / name
    if name == "truncated.osm.pbf":
        bad.write_bytes(default_pbf().read_bytes()[:300_000])
    elif name == "text.osm.pbf":
        bad.write_text("not a pbf")
    before = store_copy.read_bytes()
    assert main(["ingest", "osm", str(bad), "--store", str(store_copy)]) == 2
    err = capsys.readouterr().err
    assert name in err and "Traceback" not in err
    assert store_copy.read_bytes() == before
    assert not list(store_copy.parent.glob(".*building*"))
