"""Indicator drafts (issue 16): the form writes a definition and reads it back, validation
reports what the CLI reports in the same words, a draft may not be Python nor take a
shipped name, escapes are refused by the preview, and saves are recorded once or refused
with a reason, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.datasets import known_datasets
from observatory.drafts import saved
from observatory.drafts.check import check_draft
from observatory.drafts.form import (
    DraftForm,
    DraftTarget,
    definition_text,
    form_from_text,
    parse_parameters,
    parse_targets,
)
from observatory.drafts.preview import preview
from observatory.opsdb import OpsDB
from observatory.registry import Registry, load_registry
from observatory.sandbox import Sandbox
from observatory.settings import REPO_ROOT
from observatory.snapshots import current_snapshot, store_dir
from observatory.store import connect_read
from tests.test_sandbox import _escapes, outside_file

FORM = DraftForm(
    name="grocery_shops_count", label_en="Grocery shops", label_fr="Commerces alimentaires",
    description_en="Grocery shops per cell.", description_fr="Commerces par cellule.",
    theme="services", unit="count", direction="neutral", inputs=("osm_pois",),
    parameters={"category": "grocery"}, aggregation="sum", owner="analysts",
    standard_en="OpenStreetMap shops", standard_fr="Commerces OpenStreetMap",
    targets=(DraftTarget(30.0, dt.date(2030, 12, 31), "Retail plan"),))
SQL = ("SELECT h3_cell, count(*) AS value\nFROM osm_pois\nWHERE category = $category\n"
       "GROUP BY h3_cell\n")


@pytest.fixture(scope="module")
def known(helsinki_store: Path) -> set[str]:
    con = connect_read(helsinki_store)
    try:
        return known_datasets(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def registry(known: set[str]) -> Registry:
    return load_registry(REPO_ROOT / "indicators", known_inputs=known)


@pytest.fixture(scope="module")
def sandbox(helsinki_store: Path) -> Iterator[Sandbox]:
    box = Sandbox(current_snapshot(helsinki_store), lake_root=store_dir(helsinki_store) / "lake")
    yield box
    box.close()


# -- the form ------------------------------------------------------------------------------

words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
                max_size=30).map(str.strip)
values = st.one_of(st.integers(-10**6, 10**6), st.booleans(), words.filter(bool),
                   st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: f != int(f)))


@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True), label=words,
       french=words, parameters=st.dictionaries(
           st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), values, max_size=3),
       inputs=st.lists(st.sampled_from(["osm_pois", "study_cells", "population_cells"]),
                       unique=True, max_size=3),
       target=st.none() | st.tuples(st.floats(0, 100, allow_nan=False),
                                    st.dates(dt.date(2020, 1, 1), dt.date(2050, 1, 1)),
                                    words.filter(bool)))
@settings(max_examples=60, deadline=None)
def test_the_form_reads_back_the_definition_it_writes(
    name: str, label: str, french: str, parameters: dict[str, object], inputs: list[str],
    target: tuple[float, dt.date, str] | None,
) -> None:
    form = replace(FORM, name=name, label_en=label, label_fr=french, inputs=tuple(inputs),
                   parameters=parameters,
                   targets=(DraftTarget(*target),) if target else ())
    assert form_from_text(definition_text(form)) == form


def test_parameter_and_target_boxes_name_the_bad_line() -> None:
    assert parse_parameters("max_minutes: 15\nspeed_kmh: 4.8\nmode: walk\n") == (
        {"max_minutes": 15, "speed_kmh": 4.8, "mode": "walk"}, [])
    assert parse_parameters("ok: 1\nno colon here\n")[1] == [
        "parameters line 2: `no colon here` is not `name: value` (e.g. `max_minutes: 15`)."]
    targets, problems = parse_targets("90, 2030-12-31, Metropolitan plan\n95, 2031-13-01, x\n")
    assert targets == (DraftTarget(90.0, dt.date(2030, 12, 31), "Metropolitan plan"),)
    assert problems and problems[0].startswith("targets line 2:")


# -- validation in the CLI's words ------------------------------------------------------------

BAD = {
    "typo in an input": (replace(FORM, inputs=("osm_poi",)), SQL,
                         "unknown input `osm_poi`. Did you mean `osm_pois`?"),
    "a share summed": (replace(FORM, unit="percent"), SQL, "set `aggregation: ratio`"),
    "an unused parameter": (replace(FORM, parameters={"category": "x", "spare": 1}), SQL,
                            "parameter `spare` is declared but the SQL never uses"),
    "an empty label": (replace(FORM, label_en="", label_fr=""), SQL, "the text is empty"),
    "a bad name": (replace(FORM, name="Grocery"), SQL, "must be lowercase letters"),
    "a wrong column": (FORM, SQL.replace("category =", "categry ="),
                       "line 3, column 7: Binder Error"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_validation_reports_what_the_cli_reports(case: str, registry: Registry,
                                                 known: set[str], sandbox: Sandbox,
                                                 helsinki_store: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """The same pair in an indicator folder: `observatory indicators validate` prints the
    same problems (file and line), word for word, as the form shows."""
    from observatory.cli import main

    form, query, words = BAD[case]
    check = check_draft(definition_text(form), query, registry=registry, known_inputs=known,
                        sandbox=sandbox)
    assert check.loaded is None and any(words in p for p in check.problems), check.problems
    folder = tmp_path / "indicators" / form.theme
    folder.mkdir(parents=True)
    stem = form.name if re.fullmatch(r"[a-z][a-z0-9_]*", form.name) else "unnamed_draft"
    (folder / f"{stem}.yml").write_text(definition_text(form))
    (folder / f"{stem}.sql").write_text(query)
    assert main(["indicators", "validate", "--indicators", str(tmp_path / "indicators"),
                 "--store", str(helsinki_store)]) == 2
    printed = [line.strip() for line in capsys.readouterr().err.splitlines()[1:]]
    shown = [f"{tmp_path}/{p}" if p.startswith("indicators/") else p
             for p in check.problems]
    assert sorted(printed) == sorted(shown)


def test_a_valid_draft_becomes_its_repository_file(registry: Registry, known: set[str],
                                                    sandbox: Sandbox) -> None:
    check = check_draft(definition_text(FORM), SQL, registry=registry, known_inputs=known,
                        sandbox=sandbox)
    assert check.problems == [] and check.loaded is not None
    assert check.target == REPO_ROOT / "indicators" / "services" / "grocery_shops_count.yml"


def test_a_draft_is_never_python_and_never_takes_a_shipped_name(
        registry: Registry, known: set[str]) -> None:
    python = definition_text(FORM).replace("sql: grocery_shops_count.sql", "python: shops.py")
    problems = check_draft(python, SQL, registry=registry, known_inputs=known).problems
    assert len(problems) == 1 and "a `python:` definition is code" in problems[0]
    taken = definition_text(replace(FORM, name="public_transport_stops_count"))
    problems = check_draft(taken, SQL, registry=registry, known_inputs=known).problems
    assert any("is taken by indicators/mobility/public_transport_stops_count.yml" in p
               and "would be indicators/services/public_transport_stops_count.yml" in p
               for p in problems), problems


# -- the preview -------------------------------------------------------------------------------

@pytest.mark.parametrize("escape", list(_escapes(Path("/tmp"))))
def test_escapes_are_refused_by_the_preview(escape: str, registry: Registry, known: set[str],
                                            sandbox: Sandbox, tmp_path: Path) -> None:
    """The draft's SQL is validated and previewed in the sandbox: every escape is refused
    (by validation, and by the preview were it called anyway) and leaves no file."""
    outside_file(tmp_path)
    query = _escapes(tmp_path)[escape]
    check = check_draft(definition_text(replace(FORM, parameters={})), query,
                        registry=registry, known_inputs=known, sandbox=sandbox)
    assert check.problems and check.loaded is None
    loaded = load_registry(REPO_ROOT / "indicators", known_inputs=known).get(
        "public_transport_stops_count").model_copy(update={"query": query})
    result = preview(sandbox, loaded)
    assert result.problem and not result.ok and result.results.is_empty()
    assert os.listdir(tmp_path) == []


def test_the_preview_checks_the_output_contract(registry: Registry, known: set[str],
                                                sandbox: Sandbox) -> None:
    share = replace(FORM, name="grocery_reach_share", unit="percent", aggregation="ratio",
                    parameters={})
    query = ("SELECT h3_cell, 150.0 AS value, 3.0 AS numerator, 2.0 AS denominator "
             "FROM study_cells")
    check = check_draft(definition_text(share), query, registry=registry, known_inputs=known,
                        sandbox=sandbox)
    result = preview(sandbox, check.loaded)
    failed = {c.name for c in result.checks if not c.ok}
    assert failed == {"numerator ≤ denominator", "shares within [0, 100]"}
    assert not result.ok and result.results.is_empty()


def test_the_preview_answers_with_the_build_s_figures(registry: Registry, known: set[str],
                                                      sandbox: Sandbox) -> None:
    check = check_draft(definition_text(FORM), SQL, registry=registry, known_inputs=known,
                        sandbox=sandbox)
    result = preview(sandbox, check.loaded)
    assert result.ok and result.rows > 0
    assert result.resolutions == [10, 9, 8, 7]
    base = result.cells(10)
    assert result.whole_area() == base["value"].sum()  # counts roll up by sum
    assert result.cells(7)["value"].sum() == base["value"].sum()


# -- saving --------------------------------------------------------------------------------------

def _create(ops: OpsDB, author: str = "ana@city.example") -> saved.DraftVersion:
    return saved.create(ops, name=FORM.name, theme=FORM.theme,
                        definition=definition_text(FORM), query=SQL, author=author)


def test_versions_comments_and_conflicts(ops: OpsDB) -> None:
    first = _create(ops)
    assert first.version == 1 and saved.opened(ops, first.draft_id).version == 1
    second = saved.save(ops, first.draft_id, based_on=1, name=FORM.name, theme=FORM.theme,
                        definition=definition_text(FORM), query=SQL + "-- tidy\n",
                        author="bo@city.example")
    assert second.version == 2
    same = saved.save(ops, first.draft_id, based_on=2, name=FORM.name, theme=FORM.theme,
                      definition=definition_text(FORM), query=SQL + "-- tidy\n",
                      author="bo@city.example")
    assert same.version == 2  # the same text again records nothing
    with pytest.raises(saved.DraftError, match="version 2 was saved by bo@city.example"):
        saved.save(ops, first.draft_id, based_on=1, name=FORM.name, theme=FORM.theme,
                   definition=definition_text(FORM), query="SELECT 1", author="ana@city.example")
    saved.comment(ops, first.draft_id, version=2, body="Counts look right.",
                  author="cy@city.example")
    with pytest.raises(saved.DraftError, match="empty"):
        saved.comment(ops, first.draft_id, version=2, body="  ", author="cy@city.example")
    listed = saved.listed(ops).row(0, named=True)
    assert (listed["versions"], listed["last_saved_by"], listed["comments"]) == (
        2, "bo@city.example", 1)
    assert saved.versions(ops, first.draft_id)["version"].to_list() == [2, 1]
    assert saved.opened(ops, first.draft_id, 1).query == SQL
    with pytest.raises(saved.DraftError, match="no draft 999"):
        saved.opened(ops, 999)


def test_concurrent_saves_are_recorded_once_or_refused(ops: OpsDB) -> None:
    """Eight analysts save their edit of version 1 at the same moment: exactly one becomes
    version 2, the seven others are refused with a reason, nothing is lost or doubled."""
    draft = _create(ops)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def edit(number: int) -> None:
        barrier.wait()
        try:
            saved.save(ops, draft.draft_id, based_on=1, name=FORM.name, theme=FORM.theme,
                       definition=definition_text(FORM), query=f"{SQL}-- edit {number}\n",
                       author=f"analyst{number}@city.example")
            outcomes.append("saved")
        except saved.DraftError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("saved") == 1
    assert all("nothing was saved" in o for o in outcomes if o != "saved")
    assert saved.versions(ops, draft.draft_id)["version"].to_list() == [2, 1]


# -- the round trip ------------------------------------------------------------------------------

@pytest.mark.slow
def test_form_draft_export_import_compute_equals_the_preview(
    store_copy: Path, ops_env: str, tmp_path: Path, registry: Registry, known: set[str],
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str],
) -> None:
    """form → draft → export → `import-draft` → `indicators compute` stores exactly the
    preview's figures, and a second import is refused naming both files."""
    from observatory.cli import main
    from observatory.drafts.export import exported
    from observatory.opsdb import ops_database
    from observatory.store import read_frame

    check = check_draft(definition_text(FORM), SQL, registry=registry, known_inputs=known,
                        sandbox=sandbox)
    shown = preview(sandbox, check.loaded)
    draft = _create(ops_database(url=ops_env))
    pair = exported(saved.opened(ops_database(url=ops_env), draft.draft_id))
    assert pair["grocery_shops_count.sql"] == SQL
    assert pair["grocery_shops_count.yml"].endswith(definition_text(FORM))
    folder = tmp_path / "indicators"
    shutil.copytree(REPO_ROOT / "indicators", folder)
    assert main(["indicators", "import-draft", str(draft.draft_id), "--indicators", str(folder),
                 "--store", str(store_copy)]) == 0
    assert "written to" in capsys.readouterr().out
    assert (folder / "services" / "grocery_shops_count.yml").read_text() == pair[
        "grocery_shops_count.yml"]
    assert main(["indicators", "compute", "grocery_shops_count", "--indicators", str(folder),
                 "--store", str(store_copy)]) == 0
    con = connect_read(store_copy)
    stored = read_frame(con, "SELECT period, resolution, h3_cell, value, numerator, denominator "
                             "FROM indicator_results WHERE indicator = 'grocery_shops_count' "
                             "ORDER BY resolution NULLS LAST, h3_cell")
    con.close()
    expected = shown.results.sort(["resolution", "h3_cell"], nulls_last=True)
    assert stored.height == expected.height > 0
    assert stored.select("resolution", "h3_cell", "value").equals(
        expected.select("resolution", "h3_cell", "value").cast(stored.select(
            "resolution", "h3_cell", "value").schema))
    assert main(["indicators", "import-draft", str(draft.draft_id), "--indicators", str(folder),
                 "--store", str(store_copy)]) == 2
    err = capsys.readouterr().err
    assert "is taken by" in err and "services/grocery_shops_count.yml" in err
