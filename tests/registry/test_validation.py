"""Every kind of definition error is reported, all at once, with file, line and a fix."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from observatory.cli import main
from observatory.datasets import known_datasets
from observatory.errors import IndicatorSpecError
from observatory.registry import load_registry
from observatory.settings import DEFAULT_INDICATORS

GOOD = """\
indicator:
  name: grocery_demo_share
  label: Demo share
  description: A share for tests.
  theme: services
  unit: percent
  direction: higher_is_better
  grain: {h3_resolution: 10, period: year}
  inputs: [osm_pois, population_cells]
  parameters: {category: grocery}
  sql: grocery_demo_share.sql
  visibility: public
  owner: test-team
  method: {standard: "none", deviations: "none"}
"""
SQL = "SELECT h3_cell, 1.0 AS numerator, 2.0 AS denominator, 50.0 AS value " \
      "FROM osm_pois WHERE category = $category GROUP BY h3_cell\n"


def _write(folder: Path, yml: str, *, name: str = "grocery_demo_share", theme: str = "services",
           sql: str | None = SQL) -> Path:
    path = folder / theme / f"{name}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(yml))
    if sql is not None:
        (folder / theme / f"{name}.sql").write_text(sql)
    return path


def _problems(folder: Path) -> list[str]:
    return load_registry(folder, known_inputs=known_datasets()).all_problems()


def test_the_shipped_indicators_are_valid() -> None:
    registry = load_registry(DEFAULT_INDICATORS, known_inputs=known_datasets())
    assert registry.all_problems() == []
    assert len(registry.specs) >= 10


def test_a_good_definition_is_valid(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    assert _problems(tmp_path) == []


CASES = [
    ("unknown key", GOOD.replace("  owner:", "  ownr: x\n  owner:"),
     r"line 13: unknown key `ownr`\. Did you mean `owner`\?"),
    ("missing key", GOOD.replace("  owner: test-team\n", ""), r"line 1: `owner` is missing"),
    ("unknown input", GOOD.replace("population_cells]", "population_cels]"),
     r"line 9: unknown input `population_cels`\. Did you mean `population_cells`\?"),
    ("both sql and python", GOOD.replace("  visibility:", "  python: x.py\n  visibility:"),
     r"line 11: `sql` and `python` both given; keep exactly one"),
    ("neither sql nor python", GOOD.replace("  sql: grocery_demo_share.sql\n", ""),
     r"`sql` and `python` neither given"),
    ("missing sql file", GOOD.replace("sql: grocery_demo_share.sql", "sql: grocery_demo.sql"),
     r"line 11: SQL file `grocery_demo\.sql` not found.*Did you mean `grocery_demo_share\.sql`"),
    ("undeclared parameter", GOOD.replace("  parameters: {category: grocery}\n", ""),
     r"uses `\$category` but `parameters` does not declare it"),
    ("unused parameter", GOOD.replace("{category: grocery}", "{category: grocery, limit: 3}"),
     r"line 10: parameter `limit` is declared but the SQL never uses `\$limit`"),
    ("bad enum", GOOD.replace("unit: percent", "unit: percentage"),
     r"line 6: `unit`: Input should be 'percent'"),
    ("bad nested value", GOOD.replace("h3_resolution: 10", "h3_resolution: 12"),
     r"line 8: `grain\.h3_resolution`: Input should be less than or equal to 10"),
    ("name differs from file", GOOD.replace("name: grocery_demo_share", "name: grocery_x_share"),
     r"line 2: name `grocery_x_share` differs from the file name"),
    ("wrong folder", GOOD.replace("theme: services", "theme: mobility"),
     r"line 5: theme `mobility` but the file is in `services/`"),
    ("no measure suffix", GOOD.replace("name: grocery_demo_share", "name: grocery_demo"),
     r"needs a measure suffix"),
    ("ratio unit summed", GOOD.replace("  visibility:", "  aggregation: sum\n  visibility:"),
     r"unit `percent` is a ratio: set `aggregation: ratio`"),
    ("not yaml", GOOD.replace("  theme: services", "  theme: [services"), r"not valid YAML"),
    ("not a mapping", "- just\n- a list\n", r"line 1: the file must hold one mapping"),
]


@pytest.mark.parametrize(("case", "yml", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_error(tmp_path: Path, case: str, yml: str, pattern: str) -> None:
    name = "grocery_demo" if case == "no measure suffix" else "grocery_demo_share"
    _write(tmp_path, yml, name=name)
    problems = _problems(tmp_path)
    assert problems, case
    assert any(__import__("re").search(pattern, p) for p in problems), problems
    assert all(f"services/{name}.yml line " in p for p in problems), problems


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    first = _write(tmp_path, GOOD)
    shutil.copyfile(first, first.with_suffix(".yaml"))
    problems = _problems(tmp_path)
    assert any("already defined" in p for p in problems)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    _write(tmp_path, GOOD.replace("owner:", "ownr:").replace("unit: percent", "unit: pct"))
    _write(tmp_path, GOOD.replace("name: grocery_demo_share", "name: pharmacy_demo_share")
           .replace("population_cells]", "population_cels]"), name="pharmacy_demo_share")
    registry = load_registry(tmp_path, known_inputs=known_datasets())
    with pytest.raises(IndicatorSpecError) as caught:
        registry.raise_if_problems()
    message = str(caught.value)
    assert message.startswith("4 problems in ")
    for fragment in ("unknown key `ownr`", "`unit`", "`owner` is missing",
                     "unknown input `population_cels`"):
        assert fragment in message


def test_validate_command_exits_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path, GOOD.replace("owner:", "ownr:"))
    store = tmp_path / "absent.duckdb"
    code = main(["indicators", "validate", "--indicators", str(tmp_path), "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 2
    assert "grocery_demo_share.yml line 13: unknown key `ownr`" in err
    assert "Traceback" not in err


def test_validate_command_passes_on_the_shipped_indicators(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["indicators", "validate", "--store", str(tmp_path / "none.duckdb")]) == 0
    assert "indicators valid" in capsys.readouterr().out
