"""Districts: OSM-derived on the demo store, file ingest, and the crosswalk's totals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from observatory.cli import main
from observatory.store import connect_read


def _rows(path: Path, sql: str) -> list[tuple]:
    con = connect_read(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_demo_districts_come_from_osm_places_and_are_flagged_modelled(
        helsinki_store: Path) -> None:
    names = {r[0] for r in _rows(helsinki_store, "SELECT name FROM districts")}
    assert {"Kluuvi", "Kaartinkaupunki", "Kaisaniemi"} <= names
    flags = _rows(helsinki_store, "SELECT modelled, licence FROM sources "
                  "WHERE source_id = 'districts:osm'")
    assert flags and flags[0][0] is True and "ODbL" in flags[0][1]


def test_crosswalk_weights_sum_to_one_and_keep_every_resident(helsinki_store: Path) -> None:
    for resolution in (10, 9, 8, 7):
        bad = _rows(helsinki_store, f"""
            SELECT h3_cell FROM district_cells WHERE resolution = {resolution}
            GROUP BY h3_cell HAVING abs(sum(weight) - 1) > 1e-9""")
        assert not bad, resolution
        total = _rows(helsinki_store, f"SELECT sum(population) FROM district_cells "
                      f"WHERE resolution = {resolution}")[0][0]
        whole = _rows(helsinki_store, "SELECT sum(population) FROM population_cells "
                      "JOIN study_cells USING (h3_cell)")[0][0]
        assert total == pytest.approx(whole, rel=1e-9)


def _district_totals_match(path: Path) -> None:
    rows = _rows(path, """
        SELECT w.indicator, w.period, w.numerator, d.num, w.denominator, d.den, w.value, d.mx,
               w.value, d.total, s.agg
        FROM indicator_series w
        JOIN (SELECT indicator, period, sum(numerator) AS num, sum(denominator) AS den,
                     max(value) AS mx, sum(value) AS total
              FROM indicator_series WHERE area_kind = 'district' GROUP BY ALL) d
          USING (indicator, period)
        JOIN (SELECT 'x' AS agg) s ON true
        WHERE w.area_kind = 'whole'""")
    assert rows
    for name, period, num, dnum, den, dden, *_ in rows:
        if num is not None:
            assert dnum == pytest.approx(num, rel=1e-9, abs=1e-9), (name, period)
        if den is not None:
            assert dden == pytest.approx(den, rel=1e-9, abs=1e-9), (name, period)


def test_district_totals_match_the_whole_area(helsinki_store: Path) -> None:
    _district_totals_match(helsinki_store)
    counts = _rows(helsinki_store, """
        SELECT w.value, sum(d.value) FROM indicator_series w JOIN indicator_series d
        USING (indicator, period) WHERE w.area_kind = 'whole' AND d.area_kind = 'district'
        AND w.indicator = 'service_requests_open_count' GROUP BY w.value, w.period""")
    assert counts and all(a == pytest.approx(b) for a, b in counts)


def _geojson(path: Path, *, split: float, name_key: str = "nimi") -> Path:
    def square(west: float, east: float) -> list:
        return [[[west, 60.15], [east, 60.15], [east, 60.19], [west, 60.19], [west, 60.15]]]
    features = [{"type": "Feature", "properties": {name_key: n},
                 "geometry": {"type": "Polygon", "coordinates": square(w, e)}}
                for n, w, e in (("West", 24.90, split), ("East", split, 24.99))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def test_ingest_districts_file_replaces_osm_ones(store_copy: Path, tmp_path: Path) -> None:
    path = _geojson(tmp_path / "halves.geojson", split=24.944)
    assert main(["ingest", "districts", str(path), "--store", str(store_copy)]) == 0
    names = sorted(r[0] for r in _rows(store_copy, "SELECT name FROM districts"))
    assert names == ["East", "West"]
    assert not _rows(store_copy, "SELECT * FROM sources WHERE source_id = 'districts:osm'")
    split = _rows(store_copy, "SELECT count(DISTINCT h3_cell) FROM district_cells "
                  "WHERE resolution = 10 AND weight < 1")[0][0]
    assert split > 0, "cells on the boundary are shared by area"
    _district_totals_match(store_copy)


def test_bad_districts_file_exits_2_and_leaves_the_store(store_copy: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    before = store_copy.read_bytes()
    unnamed = _geojson(tmp_path / "unnamed.geojson", split=24.944, name_key="label")
    assert main(["ingest", "districts", str(unnamed), "--store", str(store_copy)]) == 2
    assert "--name-field" in capsys.readouterr().err
    far = tmp_path / "far.geojson"
    far.write_text(unnamed.read_text(encoding="utf-8").replace("60.1", "10.1"),
                   encoding="utf-8")
    assert main(["ingest", "districts", str(far), "--store", str(store_copy),
                 "--name-field", "label"]) == 2
    assert "study area" in capsys.readouterr().err
    assert store_copy.read_bytes() == before
