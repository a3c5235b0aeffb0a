"""Validation of a draft as the analyst types: the CLI's own validator, in the same words.

The draft's pair is written to a scratch folder laid out as the repository's
(`<theme>/<name>.yml` + `<name>.sql`) and loaded by `load_file`, so every problem the CLI
reports is reported here, named by the file the draft would become
(`indicators/<theme>/<name>.yml`). On top of that, a draft may not be Python code, may not
take the name of an existing indicator, and its SQL must bind on the current snapshot in
the sandbox (`check_query`), each problem with its line.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from observatory.registry.loader import Registry, _display, load_file
from observatory.registry.spec import LoadedSpec
from observatory.registry.sql_check import check_query
from observatory.sandbox import Sandbox

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_THEMES = ("accessibility", "mobility", "climate", "services", "land_use", "population")


@dataclass(frozen=True)
class DraftCheck:
    """What validation found: every problem (empty when the draft is valid), the valid
    definition (its path is the file it would become), that file, and the time taken."""

    problems: list[str]
    loaded: LoadedSpec | None
    target: Path
    seconds: float


def _body(definition: str) -> dict[str, object]:
    try:
        data = yaml.safe_load(definition)
    except yaml.YAMLError:
        return {}  # load_file reports the syntax error with its line
    body = data.get("indicator") if isinstance(data, dict) else None
    return body if isinstance(body, dict) else {}


def target_of(definition: str, folder: Path) -> Path:
    """The file a draft becomes: `<folder>/<theme>/<name>.yml` (placeholders when the
    name or theme is not valid yet)."""
    body = _body(definition)
    name, theme = str(body.get("name", "")), str(body.get("theme", ""))
    return (folder / (theme if theme in _THEMES else "unknown_theme")
            / f"{name if _NAME.match(name) else 'unnamed_draft'}.yml")


def _line_of(definition: str, key: str) -> int:
    for number, line in enumerate(definition.splitlines(), start=1):
        if line.strip().startswith(f"{key}:"):
            return number
    return 1


def _rules(definition: str, target: Path, registry: Registry) -> list[str]:
    """What a draft may not be that a repository file may."""
    body, where = _body(definition), _display(target)
    problems = []
    if "python" in body:
        problems.append(f"{where} line {_line_of(definition, 'python')}: a draft made in the "
                        "app runs SQL only; a `python:` definition is code, added in the "
                        "repository where it is reviewed as code. Use `sql:`.")
    other = registry.specs.get(str(body.get("name", "")))
    if other is not None:
        problems.append(f"{where} line {_line_of(definition, 'name')}: the name "
                        f"`{other.spec.name}` is taken by {_display(other.path)}; this draft "
                        f"would be {_display(target)}. Choose another name.")
    return problems


def check_draft(definition: str, query: str, *, registry: Registry,
                known_inputs: set[str] | None, sandbox: Sandbox | None = None) -> DraftCheck:
    """Every problem of the draft (`definition` YAML text, `query` SQL text), as the CLI's
    validator words them; with a sandbox, the SQL is bound on its snapshot too."""
    started = time.perf_counter()
    target = target_of(definition, registry.folder)
    problems = _rules(definition, target, registry)
    if problems and "python" in _body(definition):
        return DraftCheck(problems, None, target, time.perf_counter() - started)
    loaded, found = _load(definition, query, target, known_inputs)
    problems += found
    if loaded is not None and sandbox is not None:  # every problem at once
        problems += check_query(sandbox, loaded)
    valid = loaded if not problems else None
    return DraftCheck(problems, valid, target, time.perf_counter() - started)


def _load(definition: str, query: str, target: Path,
          known_inputs: set[str] | None) -> tuple[LoadedSpec | None, list[str]]:
    """load_file on the pair in a scratch folder; its messages and definition name the
    target instead."""
    with tempfile.TemporaryDirectory(prefix="observatory-draft-") as scratch:
        folder = Path(scratch) / target.parent.name
        folder.mkdir()
        path = folder / target.name
        path.write_text(definition, encoding="utf-8")
        (folder / f"{target.stem}.sql").write_text(query, encoding="utf-8")
        loaded, messages = load_file(path, known_inputs)
        shown = f"{_display(target.parent)}/"
        messages = [m.replace(f"{_display(folder)}/", shown) for m in messages]
    if loaded is not None:
        loaded = loaded.model_copy(update={"path": target})
    return loaded, messages
