"""Load every definition under a folder and report every problem at once, with file and line."""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import ValidationError

from observatory.errors import IndicatorSpecError
from observatory.registry.spec import MEASURE_SUFFIXES, IndicatorSpec, LoadedSpec

_PARAM = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
Loc = tuple[str | int, ...]


@dataclass
class Registry:
    """The valid definitions by name, and the problems of the others."""

    folder: Path
    specs: dict[str, LoadedSpec] = field(default_factory=dict)
    problems: dict[Path, list[str]] = field(default_factory=dict)

    def all_problems(self) -> list[str]:
        """Every problem, file by file, in a stable order."""
        return [p for path in sorted(self.problems) for p in self.problems[path]]

    def raise_if_problems(self) -> None:
        """Raise one IndicatorSpecError listing every problem found."""
        if problems := self.all_problems():
            raise IndicatorSpecError(problems, folder=_display(self.folder) + "/")

    def get(self, name: str) -> LoadedSpec:
        """The definition called `name`."""
        from observatory.errors import UnknownIndicatorError

        if name not in self.specs:
            hint = _did_you_mean(name, self.specs)
            raise UnknownIndicatorError(f"no indicator named `{name}`.{hint}")
        return self.specs[name]


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def _key_lines(node: yaml.Node, prefix: Loc = ()) -> dict[Loc, int]:
    """1-based line of every key (and list item) in a composed YAML node."""
    lines: dict[Loc, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*prefix, key.value)
            lines[loc] = key.start_mark.line + 1
            lines.update(_key_lines(value, loc))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            loc = (*prefix, index)
            lines[loc] = item.start_mark.line + 1
            lines.update(_key_lines(item, loc))
    return lines


def _line_of(lines: dict[Loc, int], loc: Loc, default: int) -> int:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return default


class _FileProblems:
    """Collects the problems of one definition file with its line numbers."""

    def __init__(self, path: Path) -> None:
        self.path, self.messages, self.lines = path, [], {}
        self.root_line = 1

    def add(self, message: str, loc: Loc = ()) -> None:
        line = _line_of(self.lines, ("indicator", *loc), self.root_line)
        self.messages.append(f"{_display(self.path)} line {line}: {message}")


def _schema_message(error: dict[str, object]) -> str:
    loc = ".".join(str(p) for p in error["loc"])  # type: ignore[union-attr]
    if error["type"] == "extra_forbidden":
        field_names = list(IndicatorSpec.model_fields)
        key = str(error["loc"][-1])  # type: ignore[index]
        return f"unknown key `{loc}`.{_did_you_mean(key, field_names)} The schema is closed."
    if error["type"] == "missing":
        return f"`{loc}` is missing; every definition declares it."
    if error["type"] == "string_pattern_mismatch" and loc == "name":
        return (f"`name` {error.get('input')!r} must be lowercase letters, digits and `_`, "
                "starting with a letter (e.g. `grocery_count`).")
    if error["type"] == "value_error":
        return f"`{loc}`: {str(error['msg']).removeprefix('Value error, ')}."
    return f"`{loc}`: {error['msg']} (got {error.get('input')!r})."


# libyaml's parser when PyYAML was built with it (it is in the wheels), else the pure one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_utf8(path: Path) -> tuple[str, str | None]:
    """(text, None), or ("", `line N: not UTF-8 text (…)` with how to fix)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return "", (f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02X}; probably "
                    "Latin-1 or Windows-1252). Save the file as UTF-8.")


def read_yaml(path: Path) -> tuple[object, dict[Loc, int], str | None]:
    """(data, line of every key, None) of a YAML file, or (None, {}, the syntax problem
    with its line) when it is not valid YAML."""
    text, problem = read_utf8(path)
    if problem:
        return None, {}, f"{_display(path)} {problem}"
    loader = _SAFE_LOADER(text)  # one parse gives both the nodes (with lines) and the data
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        return None, {}, (f"{_display(path)} line {line}: not valid YAML "
                          f"({getattr(exc, 'problem', exc)}).")
    finally:
        loader.dispose()
    return data, _key_lines(node) if node is not None else {}, None


def _parse(path: Path, problems: _FileProblems) -> dict[str, object] | None:
    data, lines, syntax = read_yaml(path)
    if syntax is not None:
        problems.messages.append(syntax)
        return None
    problems.lines = lines
    if not isinstance(data, dict) or set(data) != {"indicator"}:
        problems.add("the file must hold one mapping under the key `indicator:`.")
        return None
    body = data["indicator"]
    if not isinstance(body, dict):
        problems.add("`indicator:` must be a mapping of keys to values.")
        return None
    return body


def _check_spec(spec: IndicatorSpec, path: Path, problems: _FileProblems,
                known_inputs: set[str] | None) -> str | None:
    """Rules beyond the schema; returns the SQL text when there is one."""
    if spec.name != path.stem:
        problems.add(f"name `{spec.name}` differs from the file name; rename one to match.",
                     ("name",))
    if spec.theme != path.parent.name:
        problems.add(f"theme `{spec.theme}` but the file is in `{path.parent.name}/`; "
                     f"move it to indicators/{spec.theme}/.", ("theme",))
    if not spec.name.endswith(MEASURE_SUFFIXES):
        problems.add(f"name `{spec.name}` needs a measure suffix: {', '.join(MEASURE_SUFFIXES)}.",
                     ("name",))
    if spec.unit in ("percent", "per_1k", "per_km2", "minutes") and spec.aggregation != "ratio":
        problems.add(f"unit `{spec.unit}` is a ratio: set `aggregation: ratio` so cells roll "
                     "up by numerators and denominators, never by averaging.", ("aggregation",))
    for index, item in enumerate(spec.inputs):
        if known_inputs is not None and item not in known_inputs:
            hint = _did_you_mean(item, known_inputs)
            problems.add(f"unknown input `{item}`.{hint} (`observatory datasets list` shows "
                         "them)", ("inputs", index))
    if (spec.sql is None) == (spec.python is None):
        which = "both given" if spec.sql else "neither given"
        problems.add(f"`sql` and `python` {which}; keep exactly one.", ("sql",))
        return None
    if spec.python is not None:
        if not (path.parent / spec.python).is_file():
            problems.add(f"python file `{spec.python}` not found beside the definition.",
                         ("python",))
        return None
    return _check_sql(spec, path, problems)


def _check_sql(spec: IndicatorSpec, path: Path, problems: _FileProblems) -> str | None:
    sql_path = path.parent / str(spec.sql)
    if not sql_path.is_file():
        siblings = [p.name for p in path.parent.glob("*.sql")]
        problems.add(f"SQL file `{spec.sql}` not found beside the definition."
                     f"{_did_you_mean(str(spec.sql), siblings)}", ("sql",))
        return None
    query, problem = read_utf8(sql_path)
    if problem:
        problems.add(f"SQL file `{spec.sql}` {problem}", ("sql",))
        return None
    used = set(_PARAM.findall(_strip_comments(query)))
    for name in sorted(used - set(spec.parameters)):
        problems.add(f"the SQL uses `${name}` but `parameters` does not declare it.",
                     ("parameters",))
    for name in sorted(set(spec.parameters) - used):
        problems.add(f"parameter `{name}` is declared but the SQL never uses `${name}`.",
                     ("parameters", name))
    return query


def _strip_comments(query: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in query.splitlines())


def _definition_hash(path: Path, spec: IndicatorSpec) -> str:
    digest = hashlib.sha256(path.read_bytes())
    for extra in (spec.sql, spec.python):
        if extra and (path.parent / extra).is_file():
            digest.update((path.parent / extra).read_bytes())
    return digest.hexdigest()[:16]


def load_file(path: Path, known_inputs: set[str] | None) -> tuple[LoadedSpec | None, list[str]]:
    """One definition and the problems found in it."""
    problems = _FileProblems(path)
    body = _parse(path, problems)
    if body is None:
        return None, problems.messages
    try:
        spec = IndicatorSpec.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(_schema_message(error), tuple(error["loc"]))
        return None, problems.messages
    query = _check_spec(spec, path, problems, known_inputs)
    if problems.messages:
        return None, problems.messages
    loaded = LoadedSpec(spec=spec, path=path, query=query,
                        definition_hash=_definition_hash(path, spec))
    return loaded, []


DEFINITION_SUFFIXES = {".yml", ".yaml", ".sql", ".py"}


def definitions_signature(folder: Path) -> tuple[tuple[str, int], ...]:
    """Every definition file under `folder` with its mtime: changes when an analyst edits
    (for caches of what is loaded from the folder)."""
    if not folder.is_dir():
        return ()
    return tuple((str(p.relative_to(folder)), p.stat().st_mtime_ns)
                 for p in sorted(folder.rglob("*"))
                 if p.suffix in DEFINITION_SUFFIXES and p.is_file())


def load_registry(folder: Path, *, known_inputs: set[str] | None = None) -> Registry:
    """Every definition under `folder` (recursively); problems are collected, not raised."""
    registry = Registry(folder=folder)
    if not folder.is_dir():
        registry.problems[folder] = [f"{_display(folder)}: no such folder of indicators."]
        return registry
    for path in sorted(folder.rglob("*.yml")) + sorted(folder.rglob("*.yaml")):
        loaded, messages = load_file(path, known_inputs)
        if messages:
            registry.problems[path] = messages
        elif loaded is not None:
            other = registry.specs.get(loaded.spec.name)
            if other is not None:
                registry.problems[path] = [f"{_display(path)} line 1: indicator "
                                           f"`{loaded.spec.name}` is already defined in "
                                           f"{_display(other.path)}; names are unique."]
                continue
            registry.specs[loaded.spec.name] = loaded
    return registry
