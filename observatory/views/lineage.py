"""Lineage of an indicator: its inputs back to the sources (licence, freshness, simulated
or modelled), and forward to the alert rules and pages that use it.

The same answer for `observatory indicators lineage NAME --json` and for the graph on
the analysts' registry page (Graphviz DOT).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from observatory.alerts.loader import alerts_dir, load_rules
from observatory.registry import Registry
from observatory.roles import Role
from observatory.views.indicators import visible_spec
from observatory.views.provenance import read_sources, source_refs


@dataclass(frozen=True)
class Source:
    """One source that wrote an input table."""

    source_id: str
    licence: str
    data_as_of: str | None
    simulated: bool
    modelled: bool


@dataclass(frozen=True)
class Lineage:
    """Where an indicator's numbers come from and where they go."""

    indicator: str
    label: str
    definition: str  # indicators/<theme>/<file>
    inputs: dict[str, list[Source]]  # input table -> the sources that wrote it
    alert_rules: list[str]
    pages: list[str]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON (what the CLI prints)."""
        return asdict(self)


def _pages(spec: Any) -> list[str]:
    pages = ["Analysts: Indicator registry", "Analysts: Forecasts"]
    if spec.headline:
        pages += ["Officials: Overview (tile)", "Officials: Compare areas",
                  "Council brief (PDF, HTML)"]
    if spec.visibility == "public":
        pages += ["Public portal: Indicators", "Open data bundle (observatory publish)"]
    return pages


def _sources(sources: pl.DataFrame, table: str) -> list[Source]:
    """The sources that wrote `table` (none when it is not loaded: the indicator waits)."""
    traced = sources.filter(pl.col("tables").list.contains(table))
    return [Source(s.source_id, s.licence,
                   s.data_as_of.date().isoformat() if s.data_as_of else None,
                   s.simulated, s.modelled) for s in source_refs(traced)]


def indicator_lineage(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                      role: Role, rules_folder: str | None = None) -> Lineage:
    """The lineage of one indicator `role` may see."""
    loaded = visible_spec(registry, name, role=role)
    spec = loaded.spec
    rules = load_rules(alerts_dir(rules_folder)).rules
    sources = read_sources(con)
    return Lineage(
        indicator=spec.name, label=spec.label_in("en"),
        definition=str(Path(loaded.path.parent.name, loaded.path.name)),
        inputs={table: _sources(sources, table) for table in spec.inputs},
        alert_rules=sorted(r.name for r in rules.values() if r.indicator == spec.name),
        pages=_pages(spec))


def _quoted(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, line breaks as DOT's `\\n`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def lineage_dot(lineage: Lineage) -> str:
    """The lineage as a Graphviz graph, sources on the left, pages on the right."""
    lines = ["digraph lineage {", "  rankdir=LR; node [fontname=Helvetica fontsize=10];"]
    me = _quoted(lineage.indicator)
    lines.append(f"  {me} [shape=box style=\"filled,bold\" fillcolor=\"#d8daeb\" "
                 f"label={_quoted(lineage.label)}];")
    for table, sources in lineage.inputs.items():
        node = _quoted(f"table {table}")
        waiting = "" if sources else "\n(not loaded: waiting for data)"
        lines.append(f"  {node} [shape=cylinder label={_quoted(table + waiting)}];")
        lines.append(f"  {node} -> {me};")
        for source in sources:
            flags = " · simulated" if source.simulated else " · modelled" if source.modelled else ""
            label = f"{source.source_id}\n{source.licence}{flags}\nas of {source.data_as_of}"
            lines.append(f"  {_quoted('source ' + source.source_id)} [shape=note "
                         f"label={_quoted(label)}];")
            lines.append(f"  {_quoted('source ' + source.source_id)} -> {node};")
    for rule in lineage.alert_rules:
        lines.append(f"  {_quoted('rule ' + rule)} [shape=octagon label={_quoted(rule)}];")
        lines.append(f"  {me} -> {_quoted('rule ' + rule)};")
    for page in lineage.pages:
        lines.append(f"  {_quoted('page ' + page)} [shape=component label={_quoted(page)}];")
        lines.append(f"  {me} -> {_quoted('page ' + page)};")
    return "\n".join([*lines, "}"])


def lineage_graph(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                  role: Role) -> str:
    """`lineage_dot` of one indicator `role` may see (what the registry page draws)."""
    return lineage_dot(indicator_lineage(con, registry, name, role=role))
