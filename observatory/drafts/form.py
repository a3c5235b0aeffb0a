"""The draft form's fields and the definition file they write (and read back).

A draft is kept as the pair a repository holds: the YAML definition and its SQL. The form
writes the YAML from its fields (`definition_text`), and a saved draft opens in the form
again (`form_from_text`), so what is saved, exported and imported is one text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from observatory.registry.spec import Text


@dataclass(frozen=True)
class DraftTarget:
    """One target: a value to reach by a date, and who set it."""

    value: float
    by: dt.date
    source: str


@dataclass(frozen=True)
class DraftForm:
    """The fields of a definition an analyst fills in (STYLE.md, "An indicator is data")."""

    name: str = ""
    label_en: str = ""
    label_fr: str = ""
    description_en: str = ""
    description_fr: str = ""
    theme: str = "services"
    unit: str = "count"
    direction: str = "neutral"
    h3_resolution: int = 10
    period: str = "year"
    inputs: tuple[str, ...] = ()
    parameters: dict[str, float | int | str | bool] = field(default_factory=dict)
    aggregation: str = "sum"
    visibility: str = "internal"
    min_count: int = 11
    targets: tuple[DraftTarget, ...] = ()
    owner: str = ""
    standard_en: str = ""
    standard_fr: str = ""
    deviations_en: str = "none"
    deviations_fr: str = "aucune"


def _text(english: str, french: str) -> Text:
    english, french = english.strip(), french.strip()
    return {"en": english, "fr": french} if french else english


def definition_text(form: DraftForm) -> str:
    """The YAML definition the form's fields make (the SQL file is `<name>.sql`)."""
    body: dict[str, Any] = {
        "name": form.name.strip(),
        "label": _text(form.label_en, form.label_fr),
        "description": _text(form.description_en, form.description_fr),
        "theme": form.theme, "unit": form.unit, "direction": form.direction,
        "grain": {"h3_resolution": form.h3_resolution, "period": form.period},
        "inputs": list(form.inputs),
    }
    if form.parameters:
        body["parameters"] = dict(form.parameters)
    body["sql"] = f"{form.name.strip()}.sql"
    body["aggregation"] = form.aggregation
    if form.targets:
        body["targets"] = [{"value": t.value, "by": t.by, "source": t.source}
                           for t in form.targets]
    body |= {"visibility": form.visibility, "min_count": form.min_count,
             "owner": form.owner.strip(),
             "method": {"standard": _text(form.standard_en, form.standard_fr),
                        "deviations": _text(form.deviations_en, form.deviations_fr)}}
    return yaml.safe_dump({"indicator": body}, sort_keys=False, allow_unicode=True,
                          width=100)


def _languages(value: object) -> tuple[str, str]:
    if isinstance(value, dict):
        return str(value.get("en", "")), str(value.get("fr", ""))
    return ("" if value is None else str(value)), ""


def form_from_text(text: str) -> DraftForm:
    """The form's fields from a saved definition (what the form wrote); fields it cannot
    read keep their defaults, and validation then says what is wrong."""
    data = yaml.safe_load(text) or {}
    body = data.get("indicator", {}) if isinstance(data, dict) else {}
    if not isinstance(body, dict):
        return DraftForm()
    grain, method = body.get("grain") or {}, body.get("method") or {}
    label, description = _languages(body.get("label")), _languages(body.get("description"))
    standard, deviations = _languages(method.get("standard")), _languages(
        method.get("deviations", "none"))
    targets = tuple(DraftTarget(float(t["value"]), t["by"], str(t.get("source", "")))
                    for t in body.get("targets") or [] if isinstance(t, dict))
    defaults = DraftForm()
    return DraftForm(
        name=str(body.get("name", "")), label_en=label[0], label_fr=label[1],
        description_en=description[0], description_fr=description[1],
        theme=str(body.get("theme", defaults.theme)), unit=str(body.get("unit", defaults.unit)),
        direction=str(body.get("direction", defaults.direction)),
        h3_resolution=int(grain.get("h3_resolution", defaults.h3_resolution)),
        period=str(grain.get("period", defaults.period)),
        inputs=tuple(str(i) for i in body.get("inputs") or ()),
        parameters=dict(body.get("parameters") or {}),
        aggregation=str(body.get("aggregation", defaults.aggregation)),
        visibility=str(body.get("visibility", defaults.visibility)),
        min_count=int(body.get("min_count", defaults.min_count)), targets=targets,
        owner=str(body.get("owner", "")), standard_en=standard[0], standard_fr=standard[1],
        deviations_en=deviations[0], deviations_fr=deviations[1])


def parameters_text(parameters: dict[str, float | int | str | bool]) -> str:
    """The parameters as the form's box holds them: one `name: value` per line."""
    return "".join(f"{name}: {value}\n" for name, value in parameters.items())


def parse_parameters(text: str) -> tuple[dict[str, float | int | str | bool], list[str]]:
    """The parameters box (`name: value` per line) and its problems, with their lines."""
    found: dict[str, float | int | str | bool] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, raw = line.partition(":")
        name = name.strip()
        if not colon or not name.isidentifier():
            problems.append(f"parameters line {number}: `{line.strip()}` is not `name: value` "
                            "(e.g. `max_minutes: 15`).")
            continue
        try:
            value = yaml.safe_load(raw.strip()) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw.strip()
        found[name] = value if isinstance(value, bool | int | float | str) else raw.strip()
    return found, problems


def targets_text(targets: tuple[DraftTarget, ...]) -> str:
    """The targets as the form's box holds them: `value, YYYY-MM-DD, source` per line."""
    return "".join(f"{t.value:g}, {t.by.isoformat()}, {t.source}\n" for t in targets)


def parse_targets(text: str) -> tuple[tuple[DraftTarget, ...], list[str]]:
    """The targets box (`value, YYYY-MM-DD, source` per line) and its problems."""
    found, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",", 2)]
        try:
            if len(parts) != 3 or not parts[2]:
                raise ValueError
            found.append(DraftTarget(float(parts[0]), dt.date.fromisoformat(parts[1]),
                                     parts[2]))
        except ValueError:
            problems.append(f"targets line {number}: `{line.strip()}` is not `value, "
                            "YYYY-MM-DD, source` (e.g. `90, 2030-12-31, Metropolitan plan`).")
    return tuple(found), problems
