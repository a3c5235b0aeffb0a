"""Every shipped definition reads in English and in French; a text per language needs `en`."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from observatory.datasets import known_datasets
from observatory.registry import Registry, load_registry
from observatory.registry.spec import IndicatorSpec, Text, languages_of
from observatory.settings import DEFAULT_INDICATORS

SHIPPED = load_registry(DEFAULT_INDICATORS, known_inputs=known_datasets())

# Words that are English and never French: one of them outside backticks in a French text
# means a sentence was left untranslated. ("a", "an", "on", "or" are French words too.)
ENGLISH_WORDS = re.compile(
    r"\b(the|of|within|and|with|is|are|by|to|at|in|from|whose|which|when|per|above|"
    r"residents?|share|walk|walking|nearest|stops|requests|days|hours|mean|density|"
    r"guideline|backlog|compliance|coverage)\b", re.IGNORECASE)


def _texts(spec: IndicatorSpec) -> dict[str, Text]:
    return {"label": spec.label, "description": spec.description,
            "method.standard": spec.method.standard,
            "method.deviations": spec.method.deviations}


def test_every_shipped_definition_is_loaded() -> None:
    assert SHIPPED.all_problems() == []
    files = sorted(DEFAULT_INDICATORS.rglob("*.yml")) + sorted(DEFAULT_INDICATORS.rglob("*.yaml"))
    assert len(SHIPPED.specs) == len(files) >= 10


@pytest.mark.parametrize("name", sorted(SHIPPED.specs))
def test_shipped_definition_is_in_english_and_french(name: str) -> None:
    spec = SHIPPED.get(name).spec
    for field, value in _texts(spec).items():
        assert isinstance(value, dict), f"{name}: `{field}` is not given per language"
        assert {"en", "fr"} <= languages_of(value), f"{name}: `{field}` lacks en or fr"
        english, french = value["en"].strip(), value["fr"].strip()
        assert english and french, f"{name}: `{field}` has an empty text"
        assert french != english, f"{name}: `{field}` in French is the English text"
        leftover = ENGLISH_WORDS.findall(re.sub(r"`[^`]*`", "", french))
        assert not leftover, f"{name}: `{field}` in French has English words {leftover}"
    assert spec.description_in("fr") == spec.description["fr"].strip()
    assert spec.method.standard_in("fr") == spec.method.standard["fr"]
    assert spec.method.deviations_in("fr") == spec.method.deviations["fr"]


def test_the_same_english_has_the_same_french() -> None:
    french_of: dict[str, set[str]] = {}
    for loaded in SHIPPED.specs.values():
        for value in _texts(loaded.spec).values():
            assert isinstance(value, dict)
            french_of.setdefault(value["en"], set()).add(value["fr"])
    different = {en[:60]: fr for en, fr in french_of.items() if len(fr) > 1}
    assert not different


DEFINITION = """\
indicator:
  name: toy_things_count
  label: Toy things
  description: {description}
  theme: services
  unit: count
  direction: neutral
  inputs: [toy_values]
  sql: toy_things_count.sql
  aggregation: sum
  owner: tests
  method: {{standard: {standard}, deviations: none}}
"""


def _load(folder: Path, *, description: str, standard: str = "none") -> tuple[Registry, list[str]]:
    (folder / "services").mkdir(parents=True, exist_ok=True)
    (folder / "services" / "toy_things_count.yml").write_text(
        DEFINITION.format(description=description, standard=standard), encoding="utf-8")
    (folder / "services" / "toy_things_count.sql").write_text(
        "SELECT h3_cell, num AS value FROM toy_values\n")
    registry = load_registry(folder, known_inputs={"toy_values"})
    return registry, registry.all_problems()


def test_a_description_without_english_is_refused_naming_the_field(tmp_path: Path) -> None:
    registry, problems = _load(tmp_path, description='{fr: "Des choses pour les tests."}')
    assert registry.specs == {}
    assert len(problems) == 1, problems
    assert "toy_things_count.yml line 4: `description`" in problems[0]
    assert "needs at least `en`" in problems[0]


def test_a_method_text_without_english_is_refused_naming_the_field(tmp_path: Path) -> None:
    _, problems = _load(tmp_path, description="Things.", standard='{fr: "aucune"}')
    assert len(problems) == 1, problems
    assert "`method.standard`" in problems[0] and "needs at least `en`" in problems[0]


def test_a_plain_string_description_loads_and_falls_back_to_english(tmp_path: Path) -> None:
    registry, problems = _load(tmp_path, description="Things for tests.")
    assert problems == []
    spec = registry.get("toy_things_count").spec
    assert spec.description_in("fr") == spec.description_in("en") == "Things for tests."
    assert spec.method.standard_in("fr") == "none"
    assert spec.label_in("fr") == "Toy things"


def test_a_folded_description_per_language_is_read_per_language(tmp_path: Path) -> None:
    description = textwrap.indent("\n" + textwrap.dedent("""\
        en: >-
          Things
          for tests.
        fr: >-
          Des choses
          pour les tests."""), "    ")
    registry, problems = _load(tmp_path, description=description)
    assert problems == []
    spec = registry.get("toy_things_count").spec
    assert spec.description_in("en") == "Things for tests."
    assert spec.description_in("fr") == "Des choses pour les tests."
    assert spec.description_in("sv") == "Things for tests."
