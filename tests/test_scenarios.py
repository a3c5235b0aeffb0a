"""What-if scenarios: incremental edits equal a full recompute (on the Helsinki network and
with Hypothesis over random edit sequences), golden figures, bad input, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.accessibility import AccessModel, model_from_store
from observatory.cli import main
from observatory.scenarios import (
    Scenario,
    ScenarioError,
    ScenarioFileError,
    WhatIf,
    apply_scenario,
    dump_scenario,
    load_scenario,
    outcome,
)
from observatory.scenarios.spec import Edit
from observatory.store import connect_read

# The railway station square in central Helsinki, on the extract's walking network.
STATION = (24.9384, 60.1699)


@pytest.fixture(scope="module")
def model(helsinki_store: Path) -> AccessModel:
    con = connect_read(helsinki_store)
    try:
        return model_from_store(con)
    finally:
        con.close()


def _same(whatif: WhatIf, target: str) -> None:
    ours, full = whatif.fields[target].node_distances, whatif.full_recompute(target)
    assert np.array_equal(np.isfinite(ours), np.isfinite(full))
    finite = np.isfinite(full)
    assert np.abs(ours[finite] - full[finite]).max(initial=0.0) <= 1e-9


def test_add_close_and_move_equal_a_full_recompute(model: AccessModel) -> None:
    whatif = WhatIf(model)
    whatif.add("grocery", facility_id="new-station", lon=STATION[0], lat=STATION[1])
    _same(whatif, "grocery")
    first = str(model.services["pharmacy"].ids[0])
    whatif.close("pharmacy", facility_id=first)
    _same(whatif, "pharmacy")
    school = str(model.services["school"].ids[3])
    whatif.move("school", facility_id=school, lon=STATION[0], lat=STATION[1])
    _same(whatif, "school")
    park = str(model.services["park"].ids[0])  # a park leaves with all its area nodes
    whatif.close("park", facility_id=park)
    _same(whatif, "park")
    assert park not in set(whatif.fields["park"].services.ids.tolist())
    for _ in range(4):
        whatif.undo()
    for target in ("grocery", "pharmacy", "school", "park"):
        assert whatif.fields[target].node_distances is model.node_distances[target]


@st.composite
def _edits(draw: st.DrawFn, ids: list[str], box: tuple[float, float, float, float]
           ) -> list[tuple[str, object]]:
    lon0, lat0, lon1, lat1 = box
    out: list[tuple[str, object]] = []
    for step in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["add", "close", "move", "undo"]))
        point = (draw(st.floats(lon0, lon1)), draw(st.floats(lat0, lat1)))
        out.append((kind, (f"h{step}", draw(st.sampled_from(ids)), point)))
    return out


def _box(model: AccessModel) -> tuple[float, float, float, float]:
    lon, lat = model.origins.lon, model.origins.lat
    ok = np.isfinite(lon) & np.isfinite(lat)
    return (float(np.quantile(lon[ok], 0.1)), float(np.quantile(lat[ok], 0.1)),
            float(np.quantile(lon[ok], 0.9)), float(np.quantile(lat[ok], 0.9)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_edit_sequences_equal_a_full_recompute(model: AccessModel,
                                                      data: st.DataObject) -> None:
    target = "pharmacy"
    ids = sorted(set(model.services[target].ids.tolist()))
    whatif = WhatIf(model)
    for kind, (new_id, old_id, (lon, lat)) in data.draw(_edits(ids, _box(model))):
        try:
            if kind == "add":
                whatif.add(target, facility_id=new_id, lon=lon, lat=lat)
            elif kind == "close":
                whatif.close(target, facility_id=old_id)
            elif kind == "move":
                whatif.move(target, facility_id=old_id, lon=lon, lat=lat)
            else:
                whatif.undo()
        except ScenarioError:
            continue  # closed already, or off the network: refused, state unchanged
        _same(whatif, target)


def test_a_school_at_the_station_golden_figures(model: AccessModel) -> None:
    """Within 5 minutes' walk (400 m), a school on the station square: checked against
    the full recompute, and the share moves by the stated amount."""
    scenario = Scenario(name="Station school", minutes=5, edits=(
        Edit(kind="add", category="school", facility_id="new-station", lon=STATION[0],
             lat=STATION[1]),))
    after = apply_scenario(model, scenario)
    _same(after, "school")
    result = outcome(WhatIf(model), after, scenario)
    row = result.whole.filter(measure="school").row(0, named=True)
    assert (round(row["share_before"], 1), round(row["share_after"], 1)) == GOLDEN_SCHOOL
    assert round(row["change_residents"]) == 838
    score = result.whole.filter(measure="fifteen_minute_score").row(0, named=True)
    assert score["change"] > 0 and score["unit"] == "mean functions (0-6)"
    assert set(result.whole["measure"]) == {"school", "fifteen_minute_score", "sdg_11_2_1",
                                            "sdg_11_7_1"}
    school = result.cells.filter(measure="school")
    assert school.filter(effect="gains").height and not school.filter(effect="loses").height


GOLDEN_SCHOOL = (81.8, 84.2)  # % of residents with a school within 400 m, before and after


def test_a_facility_in_the_sea_is_refused_with_the_distance(model: AccessModel) -> None:
    with pytest.raises(ScenarioError, match=r"m from the nearest walkable way \(limit 250 m\)"):
        WhatIf(model).add("grocery", facility_id="sea", lon=24.98, lat=60.12)


def test_closing_the_last_facility_leaves_nobody_within_reach(model: AccessModel) -> None:
    whatif = WhatIf(model)
    for facility in sorted(set(model.services["pharmacy"].ids.tolist())):
        whatif.close("pharmacy", facility_id=facility)
    assert np.isinf(whatif.distances("pharmacy")).all()  # not reachable, not zero minutes
    assert np.isinf(whatif.fields["pharmacy"].node_distances).all()


BAD = """name: Bad
edits:
  - add: {category: groceries, id: x, lon: 24.95, lat: 60.18}
  - close: {category: pharmacy}
  - move: {category: school, id: y, lon: 500, lat: 60.1}
  - open: {category: school, id: z}
"""


def test_a_bad_scenario_file_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 4
    assert "bad.yml line 3: unknown category `groceries`" in lines[0]
    assert "line 4: `close` needs `id`." in lines[1]
    assert "line 5: `lon` is a number within ±180 (got 500)." in lines[2]
    assert "line 6: edit 4 is one of" in lines[3]


def test_unknown_facilities_are_listed_when_the_scenario_runs(model: AccessModel,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("name: S\nedits:\n  - close: {category: pharmacy, id: node/1}\n"
                    "  - close: {category: school, id: node/2}\n", encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        apply_scenario(model, load_scenario(path))
    assert str(caught.value).count("no facility") == 2
    assert "s.yml line 3: close node/1" in str(caught.value)


def test_a_scenario_round_trips_through_yaml(tmp_path: Path) -> None:
    scenario = Scenario(name="Two edits", speed_kmh=3.6, edits=(
        Edit(kind="add", category="school", facility_id="s1", lon=24.95, lat=60.18,
             name="Kallio school"),
        Edit(kind="close", category="pharmacy", facility_id="node/9")))
    path = tmp_path / "round.yml"
    path.write_text(dump_scenario(scenario), encoding="utf-8")
    back = load_scenario(path)
    assert (back.name, back.speed_kmh, [(e.kind, e.facility_id, e.name) for e in back.edits]) \
        == ("Two edits", 3.6, [("add", "s1", "Kallio school"), ("close", "node/9", None)])


def test_cli_scenario_run_prints_the_same_figures(helsinki_store: Path, model: AccessModel,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kallio.yml"
    path.write_text(f"name: Station pharmacy\nminutes: 5\nedits:\n  - add: {{category: "
                    f"pharmacy, id: k1, lon: {STATION[0]}, lat: {STATION[1]}}}\n",
                    encoding="utf-8")
    assert main(["scenario", "run", str(path), "--json", "--store", str(helsinki_store)]) == 0
    printed = json.loads(capsys.readouterr().out)
    scenario = load_scenario(path)
    expected = outcome(WhatIf(model), apply_scenario(model, scenario), scenario).whole
    pharmacy = next(r for r in printed["whole"] if r["measure"] == "pharmacy")
    assert pharmacy["share_after"] == pytest.approx(
        expected.filter(measure="pharmacy")["share_after"][0])
    assert printed["districts"], "per-district figures are printed too"
    (tmp_path / "sea.yml").write_text("name: Sea\nedits:\n  - add: {category: grocery, id: s, "
                                      "lon: 24.98, lat: 60.12}\n", encoding="utf-8")
    assert main(["scenario", "run", str(tmp_path / "sea.yml"), "--store",
                 str(helsinki_store)]) == 2
    assert "sea.yml line 3: add s:" in capsys.readouterr().err


@pytest.mark.slow
def test_the_shipped_benchmark_runs_and_agrees() -> None:
    from observatory.bench import scenario as bench

    result = bench.main(nodes=30_000, repeats=1)
    assert set(result) == {"nodes", "edit_s", "close_s", "full_s", "ratio", "max_abs_diff_m"}
    assert 25_000 <= result["nodes"] <= 35_000 and result["max_abs_diff_m"] <= 1e-9
