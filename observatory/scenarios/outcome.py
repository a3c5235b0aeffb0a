"""A scenario's effect: residents within reach before and after, per category, for the
15-minute score, SDG 11.2.1 and SDG 11.7.1, for the whole area and per district.

Shares follow the indicators' rule: a resident served within the cutoff is served; one not
served counts only when certain (the extract's edge is at least the cutoff away), others
are reported as uncertain, never silently counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from observatory.accessibility.model import AccessModel
from observatory.accessibility.targets import FUNCTIONS, cutoff_m
from observatory.scenarios.engine import ScenarioError, WhatIf
from observatory.scenarios.spec import Scenario, ScenarioFileError

# SDG 11.2.1: a stop within 500 m (bus, tram) or 1,000 m (rail, metro, ferry).
SDG_11_2_1 = {"public_transport_low": 500.0, "public_transport_high": 1000.0}
# SDG 11.7.1, access part: open public space within 400 m (as the indicator
# sdg_11_7_1_open_space_access_share).
SDG_11_7_1 = {"park": 400.0}


@dataclass(frozen=True)
class Outcome:
    """Before and after: per measure for the whole area, per district, and per cell."""

    whole: pl.DataFrame  # measure, residents, covered/uncertain/share before and after
    districts: pl.DataFrame  # the same per district_id
    cells: pl.DataFrame  # h3_cell, measure, share_before, share_after, change


def apply_scenario(model: AccessModel, scenario: Scenario) -> WhatIf:
    """The scenario's edits applied in order; ScenarioFileError listing every edit that
    could not apply (with its line), after trying them all."""
    whatif, problems = WhatIf(model), []
    for edit in scenario.edits:
        try:
            if edit.kind == "add":
                whatif.add(edit.category, facility_id=edit.facility_id, lon=edit.lon or 0.0,
                           lat=edit.lat or 0.0)
            elif edit.kind == "close":
                whatif.close(edit.category, facility_id=edit.facility_id)
            else:
                whatif.move(edit.category, facility_id=edit.facility_id, lon=edit.lon or 0.0,
                            lat=edit.lat or 0.0)
        except ScenarioError as exc:
            where = f"{scenario.source} line {edit.line}: " if scenario.source else ""
            problems.append(f"{where}{edit.kind} {edit.facility_id}: {exc}")
    if problems:
        raise ScenarioFileError("\n".join(problems))
    return whatif


def _served(whatif: WhatIf, measure: str, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """(served, certain) per resident origin for one measure."""
    if measure == "fifteen_minute_score":
        parts = [_function(whatif, cats, cutoff) for cats in FUNCTIONS.values()]
        score = np.sum([p[0] for p in parts], axis=0).astype(np.float64)
        certain = np.logical_and.reduce([p[1] for p in parts])
        return score, certain
    if measure in ("sdg_11_2_1", "sdg_11_7_1"):
        limits = SDG_11_2_1 if measure == "sdg_11_2_1" else SDG_11_7_1
        parts = [_reach(whatif, t, m) for t, m in limits.items() if t in whatif.fields]
        served = np.logical_or.reduce([p[0] for p in parts])
        certain = served | np.logical_and.reduce([p[1] for p in parts])
        return served.astype(np.float64), certain
    served, certain = _reach(whatif, measure, cutoff)
    return served.astype(np.float64), certain


def _reach(whatif: WhatIf, target: str, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    origins = whatif.model.origins
    served = whatif.distances(target) <= cutoff
    return served, served | (origins.certain_within_m >= cutoff)


def _function(whatif: WhatIf, categories: tuple[str, ...],
              cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    parts = [_reach(whatif, c, cutoff) for c in categories if c in whatif.fields]
    if not parts:
        return np.zeros(whatif.model.origins.size, bool), np.ones(whatif.model.origins.size, bool)
    served = np.logical_or.reduce([p[0] for p in parts])
    return served, served | np.logical_and.reduce([p[1] for p in parts])


def measures(after: WhatIf, scenario: Scenario, *, also: tuple[str, ...] = ()) -> list[str]:
    """The categories the scenario edits (and `also`), then the 15-minute score, SDG 11.2.1
    and SDG 11.7.1 (where the store has their services)."""
    touched = {edit.category for edit in scenario.edits} | set(also)
    out = sorted(t for t in touched if t in after.fields) + ["fifteen_minute_score"]
    return out + [name for name, limits in (("sdg_11_2_1", SDG_11_2_1),
                                            ("sdg_11_7_1", SDG_11_7_1))
                  if set(limits) & set(after.fields)]


def residents_frame(before: WhatIf, after: WhatIf, scenario: Scenario, *,
                    also: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per resident origin and measure: residents, cell, served and certain."""
    origins = before.model.origins
    cutoff = cutoff_m(speed_kmh=scenario.speed_kmh, minutes=scenario.minutes)
    resident = origins.residents > 0
    frames = []
    for measure in measures(after, scenario, also=also):
        was, was_certain = _served(before, measure, cutoff)
        now, now_certain = _served(after, measure, cutoff)
        frames.append(pl.DataFrame({
            "measure": measure, "h3_cell": origins.h3_cell[resident],
            "residents": origins.residents[resident],
            "served_before": was[resident], "certain_before": was_certain[resident],
            "served_after": now[resident], "certain_after": now_certain[resident]}))
    return pl.concat(frames)


def _summary(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    def side(when: str) -> list[pl.Expr]:
        certain = pl.col(f"certain_{when}")
        weight = pl.col("residents") * certain
        covered = (pl.col(f"served_{when}") * weight).sum()
        return [covered.alias(f"covered_{when}"),
                (pl.col("residents") * ~certain).sum().alias(f"uncertain_{when}"),
                pl.when(weight.sum() > 0).then(covered / weight.sum() * 100)
                .alias(f"share_{when}")]  # null: nobody here with a certain status

    score = pl.col("measure") == "fifteen_minute_score"  # a mean score (0-6), not a share
    per = [pl.when(score).then(pl.col(c) / 100).otherwise(pl.col(c)).alias(c)
           for c in ("share_before", "share_after")]
    return (frame.group_by(keys).agg(pl.col("residents").sum(), *side("before"), *side("after"))
            .with_columns(*per, pl.when(score).then(pl.lit("mean functions (0-6)"))
                          .otherwise(pl.lit("% of residents")).alias("unit"))
            .with_columns((pl.col("share_after") - pl.col("share_before")).alias("change"),
                          (pl.col("covered_after") - pl.col("covered_before"))
                          .alias("change_residents")))


def outcome(before: WhatIf, after: WhatIf, scenario: Scenario,
            crosswalk: pl.DataFrame | None = None, *, also: tuple[str, ...] = ()) -> Outcome:
    """Before and after for the whole area, per district (`crosswalk`: h3_cell,
    district_id, weight at the model's cell resolution) and per cell. `change` is in
    percentage points for shares, in functions for the 15-minute score (whose `share_*`
    columns hold the mean score and `covered_*` the residents × functions). `also` adds
    categories the scenario does not edit (the one a planner is looking at)."""
    rows = residents_frame(before, after, scenario, also=also).lazy()
    whole = _summary(rows, ["measure"]).collect()
    cells = _summary(rows, ["measure", "h3_cell"]).with_columns(
        pl.when(pl.col("share_after").is_null()).then(pl.lit("uncertain"))
        .when(pl.col("change") > 1e-9).then(pl.lit("gains"))
        .when(pl.col("change") < -1e-9).then(pl.lit("loses"))
        .otherwise(pl.lit("unchanged")).alias("effect")).collect()
    districts = pl.DataFrame()
    if crosswalk is not None and crosswalk.height:
        weighted = rows.join(crosswalk.lazy(), on="h3_cell").with_columns(
            pl.col("residents") * pl.col("weight"))
        districts = _summary(weighted, ["measure", "district_id", "district"]).collect()
    return Outcome(whole=_ordered(whole), districts=_ordered(districts), cells=cells)


def _ordered(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.is_empty():
        return frame
    keys = [k for k in ("measure", "district_id") if k in frame.columns]
    return frame.sort(keys)


def crosswalk(con: object) -> pl.DataFrame:
    """The store's cell-to-district weights at the base resolution, with district names."""
    from observatory.h3grid import BASE_RESOLUTION
    from observatory.store import table_names

    if not {"district_cells", "districts"} <= set(table_names(con)):  # type: ignore[arg-type]
        return pl.DataFrame()
    return con.sql(  # type: ignore[attr-defined]
        "SELECT c.h3_cell, c.district_id, d.name AS district, c.weight FROM district_cells "
        "AS c JOIN districts AS d USING (district_id) WHERE c.resolution = $r",
        params={"r": BASE_RESOLUTION}).pl()
