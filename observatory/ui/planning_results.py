"""The planners' results and saved scenarios: before and after, the difference map, the
slow-walker lens, the edit list, save / export / import, the saved list and comparisons,
and the officials' view of saved scenarios as proposals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from observatory import settings, views
from observatory.accessibility.targets import SLOW_WALK_SPEED_KMH, WALK_SPEED_KMH
from observatory.opsdb import OpsDB, ops_database, ops_url_for
from observatory.scenarios import Scenario, ScenarioFileError, dump_scenario, saved
from observatory.scenarios.spec import scenario_from_text
from observatory.service_categories import CATEGORY_LABELS
from observatory.ui import auth, widgets
from observatory.ui.gateway import fetch
from observatory.ui.planning import (
    EFFECT_WORDS,
    FLASH_KEY,
    MEASURE_LABELS,
    _cell_rows,
    _deck,
    figures,
    keep,
    slow_walkers,
)
from observatory.views.colours import diverging_breaks, legend_labels

TABLE_COLUMNS = ("measure", "share_before", "share_after", "change", "unit",
                 "covered_before", "covered_after", "change_residents", "uncertain_after")


def _ops() -> OpsDB:
    return ops_database(url=ops_url_for(settings.store_path()))


RESIDENT_COLUMNS = ("residents", "covered_before", "covered_after", "change_residents",
                    "uncertain_before", "uncertain_after")


def _labelled(frame: pl.DataFrame) -> pl.DataFrame:
    """Measures by name, residents as whole numbers (they are modelled, never fractional)."""
    whole = [pl.col(c).round(0).cast(pl.Int64) for c in RESIDENT_COLUMNS if c in frame.columns]
    score = pl.col("measure") == "fifteen_minute_score"  # a mean: two decimals; shares: one
    shares = [pl.when(score).then(pl.col(c).round(2)).otherwise(pl.col(c).round(1)).alias(c)
              for c in ("share_before", "share_after", "change") if c in frame.columns]
    return frame.with_columns(pl.col("measure").replace_strict(
        MEASURE_LABELS, default=pl.col("measure")), *whole, *shares)


def headline(data: dict[str, Any]) -> None:
    """One metric per measure: the value after, and the change."""
    whole = data["whole"]
    for column, row in zip(st.columns(max(whole.height, 1)), whole.iter_rows(named=True),
                           strict=False):
        score = row["unit"] != "% of residents"
        after = "–" if row["share_after"] is None else (
            f"{row['share_after']:.2f}" if score else f"{row['share_after']:.1f} %")
        delta = None if row["change"] is None else (
            f"{row['change']:+.2f}" if score else f"{row['change']:+.1f} pp")
        column.metric(MEASURE_LABELS.get(row["measure"], row["measure"]), after, delta,
                      border=True, help=f"{row['change_residents']:+,.0f} residents within "
                      "reach" if not score else "mean number of the six functions reached")


def tables(data: dict[str, Any]) -> None:
    """The whole area and the districts, before and after (the tables behind the cards)."""
    widgets.data_table(_labelled(data["whole"].select(TABLE_COLUMNS)))
    if data["districts"].height:
        st.markdown("**Per district**")
        widgets.data_table(_labelled(data["districts"].select(
            "district", *TABLE_COLUMNS)), max_rows=12)


def difference_map(data: dict[str, Any], focus: str) -> None:
    """Cells that gain, lose or keep their residents' reach of `focus`."""
    rows = _cell_rows(data["cells"], focus)
    st.pydeck_chart(_deck(rows, data["facilities"], colour="diff"), height=420,
                    width="stretch", key="planning_difference_map")
    counts = pl.DataFrame({"effect": [r["effect"] for r in rows]}).group_by("effect").len()
    legend = {row["effect"]: row["len"] for row in counts.iter_rows(named=True)}
    cells = data["cells"].filter(pl.col("measure") == focus)
    st.caption(" · ".join(f"{EFFECT_WORDS[e]}: {legend.get(e, 0)} cells"
                          for e in EFFECT_WORDS) + ". " + change_legend(cells))
    hexes = pl.Series("h3_hex", [f"{c:x}" for c in cells["h3_cell"].to_list()], dtype=pl.String)
    widgets.table_behind(cells.with_columns(hexes).drop("h3_cell"),
                         label="Table behind the difference map")


def change_legend(cells: pl.DataFrame) -> str:
    """The difference map's classes in words: a scale centred on zero."""
    changes = cells.filter(pl.col("effect") != "uncertain")["change"].to_list()
    labels = [label for label in legend_labels(changes, diverging_breaks(changes),
                                               diverging=True) if label != "–"]
    return ("Colour: the change in the share within reach, in percentage points, centred "
            "on zero (orange fewer, purple more, light grey no change; faint: uncertain): "
            + ", ".join(labels) + ".")


def slow_lens(scenario: Scenario, focus: str) -> None:
    """The same scenario at the other walking speed (3.6 km/h, or 4.8 when at 3.6)."""
    data = slow_walkers(scenario, focus)
    if "problem" in data:
        st.error(data["problem"])
        return
    speed = WALK_SPEED_KMH if scenario.speed_kmh == SLOW_WALK_SPEED_KMH else SLOW_WALK_SPEED_KMH
    st.markdown(f"**The same scenario at {speed:g} km/h**")
    widgets.data_table(_labelled(data["whole"].select(TABLE_COLUMNS)))


def edit_list(scenario: Scenario) -> None:
    """The edits so far, with undo and clear."""
    if not scenario.edits:
        st.info("No edit yet: pick a category, click the map and apply an edit.")
        return
    widgets.data_table(pl.DataFrame([
        {"#": i + 1, "edit": e.kind, "category": CATEGORY_LABELS.get(e.category, e.category),
         "facility": e.facility_id, "name": e.name, "lon": e.lon, "lat": e.lat}
        for i, e in enumerate(scenario.edits)]))
    a, b = st.columns(2)
    if a.button("Undo the last edit", icon=":material/undo:", key="planning_undo"):
        keep(replace(scenario, edits=scenario.edits[:-1]))
        st.rerun()
    if b.button("Clear all edits", icon=":material/delete_sweep:", key="planning_clear"):
        keep(replace(scenario, edits=()))
        st.rerun()


def keep_and_share(scenario: Scenario) -> None:
    """Save to the operational database (as the signed-in person), export, import."""
    viewer = auth.viewer()
    a, b = st.columns(2)
    if a.button("Save this scenario", type="primary", icon=":material/save:",
                key="planning_save"):
        try:
            number = saved.save(_ops(), scenario, author=viewer.actor, subject=viewer.subject)
        except ScenarioFileError as exc:
            st.session_state[FLASH_KEY] = ("error", str(exc))
        else:
            st.session_state[FLASH_KEY] = ("success", f"Saved as scenario {number} by "
                                                      f"{viewer.actor}.")
        st.rerun()
    b.download_button("Export as YAML", data=dump_scenario(scenario),
                      file_name=f"{scenario.name or 'scenario'}.yml", mime="application/yaml",
                      icon=":material/download:", key="planning_export")
    upload = st.file_uploader("Import a scenario file (YAML)", type=["yml", "yaml"],
                              key="planning_import")
    if upload is not None:
        try:
            keep(scenario_from_text(upload.getvalue().decode("utf-8"), where=Path(upload.name)))
        except (ScenarioFileError, UnicodeDecodeError) as exc:
            st.error(str(exc))


# -- saved scenarios ----------------------------------------------------------------------


@st.cache_data(ttl=5, max_entries=8, show_spinner=False)
def _saved_list(url: str) -> pl.DataFrame:
    return saved.listed(ops_database(url=url))


def saved_list() -> pl.DataFrame:
    """The saved scenarios, newest first."""
    return _saved_list(ops_url_for(settings.store_path()))


def saved_table(frame: pl.DataFrame) -> None:
    """The saved scenarios as a table."""
    widgets.data_table(frame)


def saved_actions(frame: pl.DataFrame) -> None:
    """Open, duplicate or delete one saved scenario."""
    if frame.is_empty():
        st.info("No saved scenario yet: save one from the What-if page.")
        return
    labels = {r["id"]: f"#{r['id']} {r['name']} ({r['author']})"
              for r in frame.iter_rows(named=True)}
    chosen = st.selectbox("Scenario", options=list(labels), format_func=labels.__getitem__,
                          key="planning_saved_pick")
    viewer = auth.viewer()
    a, b, c = st.columns(3)
    if a.button("Open in What-if", icon=":material/edit:", key="planning_saved_open"):
        keep(saved.opened(_ops(), chosen))
        st.switch_page("pages/planning/whatif.py")
    if b.button("Duplicate", icon=":material/content_copy:", key="planning_saved_copy"):
        saved.duplicate(_ops(), chosen, author=viewer.actor, subject=viewer.subject)
        _saved_list.clear()
        st.rerun()
    if c.button("Delete", icon=":material/delete:", key="planning_saved_delete"):
        saved.delete(_ops(), chosen, by=viewer.actor)
        _saved_list.clear()
        st.rerun()


def compare(frame: pl.DataFrame) -> None:
    """Two saved scenarios side by side (whole-area figures)."""
    if frame.height < 2:
        st.caption("Save two scenarios to compare them side by side.")
        return
    ids = frame["id"].to_list()
    names = dict(zip(ids, frame["name"].to_list(), strict=True))
    a, b = st.columns(2)
    for column, index, key in ((a, 0, "planning_compare_a"), (b, 1, "planning_compare_b")):
        with column:
            pick = st.selectbox("Scenario", options=ids, index=index, key=key,
                                format_func=lambda i: f"#{i} {names[i]}")
            scenario = saved.opened(_ops(), pick)
            focus = scenario.edits[0].category if scenario.edits else "grocery"
            data = figures(scenario, focus)
            if "problem" in data:
                st.error(data["problem"])
            else:
                widgets.data_table(_labelled(data["whole"].select(
                    "measure", "share_before", "share_after", "change", "unit")))


def proposals() -> None:
    """For officials: saved scenarios as proposals, never mixed into official figures."""
    frame = saved_list()
    st.subheader("Proposed scenarios (not official figures)")
    if frame.is_empty():
        st.caption("No planner has saved a scenario yet.")
        return
    st.caption("What-if scenarios saved by planners, computed on this snapshot. They are "
               "proposals: the official figures above do not include them.")
    for row in frame.head(5).iter_rows(named=True):
        scenario = saved.opened(_ops(), row["id"])
        focus = scenario.edits[0].category if scenario.edits else "grocery"
        data = figures(scenario, focus)
        edits = f"{row['edits']} edit{'s' if row['edits'] != 1 else ''}"
        with st.expander(f"Proposed: {row['name']} · {edits} · saved by "
                         f"{row['author']} on {row['saved_at']:%Y-%m-%d}"):
            if "problem" in data:
                st.error(data["problem"])
                continue
            widgets.data_table(_labelled(data["whole"].select(TABLE_COLUMNS)))
            if data["districts"].height:
                widgets.data_table(_labelled(data["districts"].select(
                    "district", "measure", "share_before", "share_after", "change")),
                    max_rows=10)


def provenance(focus: str) -> None:
    """Where the figures come from: the provenance of `focus`'s walking-share indicator
    (the same network, residents and services the scenario starts from)."""
    name = f"{focus}_15min_walk_share"
    period = next(iter(fetch(views.available_periods, name)), None)
    if period is None:
        return
    summary = fetch(views.indicator_summary, name, period=period)
    widgets.data_badges(summary.provenance)
    widgets.provenance_footer(summary.provenance, period=period)
