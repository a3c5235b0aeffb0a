"""Indicator views: what a role may see of the registry and of `indicator_results`.

Role filtering happens here: the public role sees only `visibility: public` indicators,
asking for another one raises `IndicatorNotVisibleError`, and its cells pass disclosure
control. Nothing here knows indicator names: any definition the registry gains works.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory.errors import InputError
from observatory.h3grid import cell_to_hex
from observatory.registry import Registry
from observatory.registry.spec import IndicatorSpec, LoadedSpec, Target
from observatory.roles import IndicatorNotVisibleError, Role, can_see
from observatory.store import read_frame
from observatory.targets import chosen_target
from observatory.views.disclosure import indicator_disclosure, suppress_small_cells
from observatory.views.model import (
    MAX_MAP_CELLS,
    CellMap,
    IndicatorSummary,
    Methodology,
    TargetStatus,
)
from observatory.views.provenance import provenance_for_tables, read_sources

_H3_APERTURE = 7
_COARSEST = 7


class TooManyCellsError(InputError, ValueError):
    """A map was asked at a resolution with more cells than a browser can draw."""


def visible_specs(registry: Registry, *, role: Role) -> list[LoadedSpec]:
    """The valid definitions `role` may see, by theme then label."""
    specs = [s for s in registry.specs.values() if can_see(role, visibility=s.spec.visibility)]
    return sorted(specs, key=lambda s: (s.spec.theme, s.spec.label_in("en").lower()))


def headline_specs(registry: Registry, *, role: Role) -> list[LoadedSpec]:
    """The headline definitions `role` may see (all visible ones if none is marked)."""
    specs = visible_specs(registry, role=role)
    return [s for s in specs if s.spec.headline] or specs


def visible_spec(registry: Registry, name: str, *, role: Role) -> LoadedSpec:
    """The definition `name` if `role` may see it; raises as if unknown otherwise."""
    loaded = registry.get(name)
    _check_visible(loaded.spec, role=role)
    return loaded


def _check_visible(spec: IndicatorSpec, *, role: Role) -> None:
    if not can_see(role, visibility=spec.visibility):
        raise IndicatorNotVisibleError(
            f"no indicator named `{spec.name}` is published for the {role.label} role."
        )


def indicator_catalogue(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, role: Role, language: str = "en",
    theme: str | None = None, headline_only: bool = False, with_results: bool = False,
) -> pl.DataFrame:
    """One row per indicator `role` may see, with its newest period (null if never run):
    of one `theme`, headline ones only (when any is marked), only those with results."""
    latest = read_frame(
        con, "SELECT indicator AS name, max(period) AS latest_period "
        "FROM indicator_results GROUP BY indicator")
    rows = [
        {
            "name": s.spec.name, "label": s.spec.label_in(language), "theme": s.spec.theme,
            "unit": s.spec.unit, "unit_label": s.spec.unit_label,
            "direction": s.spec.direction, "description": s.spec.description_in(language),
            "visibility": s.spec.visibility, "headline": s.spec.headline,
            "targets": len(s.spec.targets), "owner": s.spec.owner,
        }
        for s in visible_specs(registry, role=role)
    ]
    schema = {"name": pl.String, "label": pl.String, "theme": pl.String, "unit": pl.String,
              "unit_label": pl.String, "direction": pl.String, "description": pl.String,
              "visibility": pl.String, "headline": pl.Boolean, "targets": pl.Int64,
              "owner": pl.String}
    frame = pl.DataFrame(rows, schema=schema).join(latest, on="name", how="left").with_columns(
        pl.col("latest_period").is_not_null().alias("has_results"))
    if theme is not None:
        frame = frame.filter(pl.col("theme") == theme)
    if headline_only and frame["headline"].any():
        frame = frame.filter(pl.col("headline"))
    return frame.filter(pl.col("has_results")) if with_results else frame


def available_periods(con: duckdb.DuckDBPyConnection, registry: Registry | None = None,
                      name: str | None = None, *, role: Role | None = None) -> list[str]:
    """Periods with results (of one indicator `role` may see, or of any), newest first."""
    if name is not None and registry is not None and role is not None:
        visible_spec(registry, name, role=role)
    frame = read_frame(
        con, "SELECT DISTINCT period FROM indicator_results "
        "WHERE $name IS NULL OR indicator = $name ORDER BY period DESC", {"name": name})
    return frame["period"].to_list()


def map_resolutions_of(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                       role: Role, period: str) -> list[int]:
    """Resolutions of one indicator `role` may see that fit on a map, finest first."""
    visible_spec(registry, name, role=role)
    return map_resolutions(available_resolutions(con, name=name, period=period))


def available_resolutions(
    con: duckdb.DuckDBPyConnection, *, name: str, period: str
) -> dict[int, int]:
    """Number of cells per stored resolution of one indicator and period, finest first."""
    frame = read_frame(
        con, "SELECT resolution, count(*) AS cells FROM indicator_results "
        "WHERE indicator = $name AND period = $period AND resolution IS NOT NULL "
        "GROUP BY resolution ORDER BY resolution DESC", {"name": name, "period": period})
    return dict(zip(frame["resolution"].to_list(), frame["cells"].to_list(), strict=True))


def choose_resolution(
    n_cells: int, *, base_resolution: int = 10, max_cells: int = MAX_MAP_CELLS
) -> int:
    """The finest resolution at which `n_cells` base cells make fewer than `max_cells`.

    Each coarser H3 level holds about 7 times fewer cells; resolution 7 is the floor.
    """
    resolution, cells = base_resolution, n_cells
    while cells >= max_cells and resolution > _COARSEST:
        resolution -= 1
        cells = math.ceil(cells / _H3_APERTURE)
    return resolution


def map_resolutions(counts: dict[int, int], *, max_cells: int = MAX_MAP_CELLS) -> list[int]:
    """The resolutions of `counts` that stay under `max_cells`, finest first."""
    return sorted((r for r, n in counts.items() if n < max_cells), reverse=True)


def indicator_cells(
    con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *, role: Role,
    resolution: int, period: str,
) -> CellMap:
    """The published cells of one indicator at one resolution and period.

    For a disclosure-controlled role, the cells that `observatory.disclosure` lets the
    public see individually (small and complementary cells withheld and counted).
    """
    spec = visible_spec(registry, name, role=role).spec
    frame = read_frame(
        con, "SELECT h3_hex(h3_cell) AS h3_hex, value, numerator, denominator "
        "FROM indicator_results WHERE indicator = $name AND period = $period "
        "AND resolution = $resolution ORDER BY h3_cell",
        {"name": spec.name, "period": period, "resolution": resolution})
    if frame.height >= MAX_MAP_CELLS:
        raise TooManyCellsError(
            f"{spec.name}: {frame.height:,} cells at resolution {resolution}; maps hold fewer "
            f"than {MAX_MAP_CELLS:,}. Choose a coarser resolution (`map_resolutions`).")
    suppressed = 0
    if role.disclosure_controlled:
        published = indicator_disclosure(con, spec, period=period).published_at(resolution)
        suppressed = frame.height - published.height
        frame = published.select(
            pl.Series("h3_hex", [cell_to_hex(c) for c in published["h3_cell"].to_list()],
                      dtype=pl.String),
            "value", "numerator", "denominator")
    return CellMap(
        title=spec.label_in("en"), cells=frame, unit_label=spec.unit_label,
        resolution=resolution, period=period, suppressed=suppressed,
        min_count=spec.min_count,
        provenance=provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label))


def ranked_cells(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                 role: Role, period: str, resolution: int, limit: int = 20) -> pl.DataFrame:
    """The `limit` best cells first (`rank`, `h3_hex`, `value`); highest first if neutral."""
    cells = indicator_cells(con, registry, name, role=role, period=period,
                            resolution=resolution)
    descending = registry.get(name).spec.direction != "lower_is_better"
    frame = cells.cells.filter(pl.col("value").is_not_null())
    return (frame.sort("value", descending=descending, maintain_order=True).head(limit)
            .with_row_index("rank", offset=1).select("rank", "h3_hex", "value"))


def _whole_area(
    con: duckdb.DuckDBPyConnection, spec: IndicatorSpec, *, period: str | None
) -> dict[str, object] | None:
    frame = read_frame(
        con, "SELECT period, value, numerator, denominator, computed_at "
        "FROM indicator_results WHERE indicator = $name AND resolution IS NULL "
        "AND ($period IS NULL OR period = $period) ORDER BY period DESC LIMIT 1",
        {"name": spec.name, "period": period})
    return frame.row(0, named=True) if frame.height else None


def target_status(value: float | None, target: Target, *, direction: str) -> TargetStatus:
    """Whether `value` meets `target` given the indicator's `direction`."""
    if value is None:
        status = "no value"
    elif direction == "higher_is_better":
        status = "met" if value >= target.value else "not met"
    elif direction == "lower_is_better":
        status = "met" if value <= target.value else "not met"
    else:
        status = "target declared"
    return TargetStatus(value=target.value, by=target.by.isoformat(), source=target.source,
                        status=status)


def indicator_summary(
    con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *, role: Role,
    period: str | None = None,
) -> IndicatorSummary:
    """The whole-area value (newest period unless given), target status and provenance."""
    return summary_of(con, visible_spec(registry, name, role=role), role=role, period=period)


def summary_of(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec, *, role: Role,
               period: str | None = None, sources: pl.DataFrame | None = None,
               ) -> IndicatorSummary:
    """`indicator_summary` of a definition already at hand."""
    spec = loaded.spec
    _check_visible(spec, role=role)
    row = _whole_area(con, spec, period=period)
    value = row["value"] if row else None
    suppressed = False
    if row and role.disclosure_controlled:
        _, dropped = suppress_small_cells(pl.DataFrame([row]), min_count=spec.min_count,
                                             aggregation=spec.aggregation)
        suppressed, value = bool(dropped), (None if dropped else value)
    target = chosen_target(list(spec.targets))
    return IndicatorSummary(
        name=spec.name, label=spec.label_in("en"), description=spec.description_in("en"),
        theme=spec.theme, period=row["period"] if row else period, value=value,
        unit_label=spec.unit_label, direction=spec.direction,
        provenance=provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label,
                                         sources=sources),
        target=target_status(value, target, direction=spec.direction) if target else None,
        computed_at=row["computed_at"] if row else None, suppressed=suppressed)


def headline_scorecard(
    con: duckdb.DuckDBPyConnection, registry: Registry, *, role: Role,
    period: str | None = None,
) -> pl.DataFrame:
    """Headline indicators (all visible ones if none is marked) against their targets."""
    rows, sources = [], read_sources(con)
    for loaded in headline_specs(registry, role=role):
        summary = summary_of(con, loaded, role=role, period=period, sources=sources)
        target = summary.target
        rows.append({
            "name": summary.name, "label": summary.label, "theme": summary.theme,
            "value": summary.value, "unit_label": summary.unit_label,
            "period": summary.period, "direction": summary.direction,
            "target_value": target.value if target else None,
            "target_by": target.by if target else None,
            "target_source": target.source if target else None,
            "status": target.status if target else "no target declared",
        })
    schema = {"name": pl.String, "label": pl.String, "theme": pl.String,
              "value": pl.Float64, "unit_label": pl.String, "period": pl.String,
              "direction": pl.String, "target_value": pl.Float64, "target_by": pl.String,
              "target_source": pl.String, "status": pl.String}
    return pl.DataFrame(rows, schema=schema)


def indicator_methodology(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                          role: Role, language: str = "en") -> Methodology:
    """The published method of one indicator: standard, deviations, parameters, code,
    when it was computed and its sources."""
    loaded = visible_spec(registry, name, role=role)
    spec = loaded.spec
    code_file = loaded.path.parent / str(spec.sql or spec.python)
    code = loaded.query if loaded.query is not None else _read_text(code_file)
    return Methodology(
        standard=spec.method.standard_in(language),
        deviations=spec.method.deviations_in(language),
        parameters=dict(spec.parameters), inputs=tuple(spec.inputs),
        aggregation=spec.aggregation, min_count=spec.min_count,
        code_language="sql" if spec.sql else "python", code=code,
        definition=_read_text(loaded.path), definition_path=_relative(loaded.path),
        computed_at=computed_at(con, name),
        provenance=provenance_for_tables(con, spec.inputs, unit_label=spec.unit_label))


def computed_at(con: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    """When the indicator's stored results were computed."""
    rows = con.execute("SELECT max(computed_at) FROM indicator_results WHERE indicator = $n",
                       {"n": name}).fetchall()
    return rows[0][0] if rows else None


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _relative(path: Path) -> str:
    """`indicators/<theme>/<file>` rather than an absolute path of the server."""
    return str(Path(path.parent.name, path.name))
