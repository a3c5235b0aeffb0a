"""A scenario as a small YAML file: a name, optional speed and threshold, a list of edits.

```yaml
name: A grocery store for Kallio
speed_kmh: 4.8          # optional (3.6 for the slow-walker lens)
minutes: 15             # optional
edits:
  - add: {category: grocery, id: new-grocery-1, lon: 24.9502, lat: 60.1841, name: K-Market}
  - close: {category: pharmacy, id: node/123456}
  - move: {category: school, id: way/4567, lon: 24.9411, lat: 60.1712}
```

`load_scenario` reports every problem at once, each with its line; ids that must exist
are checked against the store when the scenario runs (`apply_scenario`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observatory.accessibility.targets import MAX_MINUTES, WALK_SPEED_KMH
from observatory.errors import InputError
from observatory.registry.loader import Loc, _line_of, read_yaml
from observatory.service_categories import CATEGORIES

KINDS = ("add", "close", "move")
_FIELDS = {"add": ("category", "id", "lon", "lat"), "close": ("category", "id"),
           "move": ("category", "id", "lon", "lat")}
_OPTIONAL = {"add": ("name",), "close": (), "move": ()}


class ScenarioFileError(InputError):
    """A scenario file with problems; the message lists each with its line."""


@dataclass(frozen=True)
class Edit:
    """One change: add, close or move a facility of a service category."""

    kind: str
    category: str
    facility_id: str
    lon: float | None = None
    lat: float | None = None
    name: str | None = None
    line: int = 0  # where it is written (0: made in the app)


@dataclass(frozen=True)
class Scenario:
    """A named list of edits, with the walking speed and time threshold it is seen at."""

    name: str
    edits: tuple[Edit, ...] = ()
    speed_kmh: float = WALK_SPEED_KMH
    minutes: float = MAX_MINUTES
    source: Path | None = field(default=None, compare=False)


def load_scenario(path: Path) -> Scenario:
    """The scenario in `path`; ScenarioFileError listing every problem with its line."""
    data, lines, problem = read_yaml(path)
    if problem:
        raise ScenarioFileError(problem)
    return _scenario(data, lines, path)


def scenario_from_text(text: str, *, where: Path) -> Scenario:
    """A scenario from YAML text (an upload, a saved row); problems name `where`."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="observatory-scenario-") as folder:
        path = Path(folder) / "scenario.yml"
        path.write_text(text, encoding="utf-8")
        data, lines, problem = read_yaml(path)
    if problem:
        raise ScenarioFileError(problem.replace(str(path), str(where)))
    return _scenario(data, lines, where)


def _scenario(data: object, lines: dict[Loc, int], path: Path) -> Scenario:
    problems: list[str] = []

    def add(message: str, *loc: str | int) -> None:
        problems.append(f"{path} line {_line_of(lines, loc, 1)}: {message}")

    body: dict[str, Any] = data if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        add("a scenario is a mapping with `name` and `edits` (and optionally `speed_kmh`, "
            "`minutes`).")
    for key in body:
        if key not in ("name", "edits", "speed_kmh", "minutes"):
            add(f"unknown key `{key}`; a scenario has name, edits, speed_kmh and minutes.", key)
    name = str(body.get("name") or "").strip()
    if not name:
        add("`name` is missing: give the scenario a name.", "name")
    speed = _positive(body.get("speed_kmh", WALK_SPEED_KMH), "speed_kmh", add, high=20)
    minutes = _positive(body.get("minutes", MAX_MINUTES), "minutes", add, high=30)
    edits = _edits(body.get("edits"), add, lines)
    if problems:
        raise ScenarioFileError("\n".join(problems))
    return Scenario(name=name, edits=tuple(edits), speed_kmh=speed, minutes=minutes,
                    source=path)


def _positive(value: object, key: str, add: Any, *, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        add(f"`{key}` is a number above 0 and at most {high:g} (got {value!r}).", key)
        return 1.0
    return float(value)


def _edits(items: object, add: Any, lines: dict[Loc, int]) -> list[Edit]:
    if not isinstance(items, list):
        add("`edits` is a list of `add:`, `close:` or `move:` entries.", "edits")
        return []
    out = []
    for index, item in enumerate(items):
        loc = ("edits", index)
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in KINDS:
            add(f"edit {index + 1} is one of `add: {{…}}`, `close: {{…}}`, `move: {{…}}`.", *loc)
            continue
        kind, body = next(iter(item.items()))
        if edit := _edit(kind, body, add, (*loc, kind), _line_of(lines, loc, 1)):
            out.append(edit)
    return out


def _edit(kind: str, body: object, add: Any, loc: Loc, line: int) -> Edit | None:
    if not isinstance(body, dict):
        add(f"`{kind}` takes {', '.join(_FIELDS[kind])}.", *loc)
        return None
    ok = True
    for key in _FIELDS[kind]:
        if key not in body:
            add(f"`{kind}` needs `{key}`.", *loc)
            ok = False
    for key in body:
        if key not in (*_FIELDS[kind], *_OPTIONAL[kind]):
            add(f"`{kind}` has no `{key}`; it takes {', '.join(_FIELDS[kind])}.", *loc, key)
            ok = False
    category = str(body.get("category", ""))
    if "category" in body and category not in CATEGORIES:
        add(f"unknown category `{category}`; use one of {', '.join(CATEGORIES)}.",
            *loc, "category")
        ok = False
    coords = _coordinates(body, add, loc) if kind != "close" else (None, None)
    if not ok or (kind != "close" and None in coords):
        return None
    return Edit(kind=kind, category=category, facility_id=str(body["id"]), lon=coords[0],
                lat=coords[1], name=str(body["name"]) if body.get("name") else None,
                line=line)


def _coordinates(body: dict[str, Any], add: Any, loc: Loc) -> tuple[float | None, float | None]:
    out: list[float | None] = []
    for key, bound in (("lon", 180), ("lat", 90)):
        value = body.get(key)
        if value is None:
            out.append(None)
        elif isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > bound:
            add(f"`{key}` is a number within ±{bound} (got {value!r}).", *loc, key)
            out.append(None)
        else:
            out.append(float(value))
    return out[0], out[1]


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text that `load_scenario` reads back."""
    import yaml

    edits = []
    for edit in scenario.edits:
        body: dict[str, Any] = {"category": edit.category, "id": edit.facility_id}
        if edit.lon is not None:
            body |= {"lon": edit.lon, "lat": edit.lat}
        if edit.name:
            body["name"] = edit.name
        edits.append({edit.kind: body})
    return yaml.safe_dump({"name": scenario.name, "speed_kmh": scenario.speed_kmh,
                           "minutes": scenario.minutes, "edits": edits},
                          sort_keys=False, allow_unicode=True)
