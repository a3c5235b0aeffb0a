"""Loaders and widgets of the planners' what-if page.

The walking model is built once per snapshot (`st.cache_resource`); a scenario's figures
are cached per snapshot and scenario text, so an edit costs one incremental update
(observatory/scenarios/engine.py) and the summaries. The scenario being edited lives in
the session as a `Scenario`; every edit is checked by the engine before it is kept.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import h3
import polars as pl
import pydeck as pdk
import streamlit as st

from observatory.accessibility import AccessModel, model_from_store
from observatory.accessibility.targets import SLOW_WALK_SPEED_KMH, WALK_SPEED_KMH
from observatory.scenarios import (
    Edit,
    Scenario,
    ScenarioFileError,
    WhatIf,
    apply_scenario,
    crosswalk,
    dump_scenario,
    outcome,
)
from observatory.scenarios.spec import scenario_from_text
from observatory.service_categories import CATEGORIES, CATEGORY_LABELS
from observatory.ui.deck import deck, hexagon_layer
from observatory.ui.gateway import Context, context, cursor
from observatory.views.colours import class_breaks, format_value, legend_labels, scale_of

SCENARIO_KEY, PICKED_KEY, FLASH_KEY = "planning_scenario", "planning_picked", "planning_flash"
UNTITLED = "Untitled scenario"
EFFECT_COLOURS = {"gains": [26, 152, 80, 210], "loses": [215, 48, 39, 210],
                  "unchanged": [200, 200, 200, 150], "uncertain": [255, 255, 255, 60]}
EFFECT_WORDS = {"gains": "more residents within reach", "loses": "fewer within reach",
                "unchanged": "no change", "uncertain": "uncertain (near the extract's edge)"}
MEASURE_LABELS = {**CATEGORY_LABELS, "fifteen_minute_score": "15-minute score",
                  "sdg_11_2_1": "SDG 11.2.1 (public transport within 500 / 1,000 m)",
                  "sdg_11_7_1": "SDG 11.7.1 (open public space within 400 m)"}


@st.cache_resource(max_entries=2, show_spinner="Building the walking model of this snapshot…")
def _model(ctx: Context) -> tuple[AccessModel, pl.DataFrame]:
    with cursor(ctx) as con:
        return model_from_store(con), crosswalk(con)


@st.cache_data(max_entries=128, show_spinner=False)
def _figures(ctx: Context, body: str, focus: str) -> dict[str, Any]:
    """The scenario's figures, or {"problem": …} when an edit cannot apply."""
    model, districts = _model(ctx)
    scenario = scenario_from_text(body, where=Path("this scenario"))
    try:
        after = apply_scenario(model, scenario)
    except ScenarioFileError as exc:
        return {"problem": str(exc)}
    result = outcome(WhatIf(model), after, scenario, districts, also=(focus,))
    services = after.fields[focus].services if focus in after.fields else None
    facilities = pl.DataFrame() if services is None else pl.DataFrame(
        {"id": services.ids.astype(str), "lon": services.lon, "lat": services.lat,
         "kind": services.kind.astype(str)}).filter(pl.col("kind") == "poi").drop("kind")
    return {"whole": result.whole, "districts": result.districts, "cells": result.cells,
            "facilities": facilities}


def figures(scenario: Scenario, focus: str) -> dict[str, Any]:
    """The figures of `scenario` (with `focus` among the measures) on the current store."""
    return _figures(context(), dump_scenario(scenario), focus)


def slow_walkers(scenario: Scenario, focus: str) -> dict[str, Any]:
    """The same scenario for the other walking speed (3.6 km/h, or 4.8 when at 3.6)."""
    other = WALK_SPEED_KMH if scenario.speed_kmh == SLOW_WALK_SPEED_KMH else SLOW_WALK_SPEED_KMH
    return figures(replace(scenario, speed_kmh=other), focus)


def current() -> Scenario:
    """The scenario being edited in this session (an empty one at first)."""
    held = st.session_state.get(SCENARIO_KEY)
    return held if isinstance(held, Scenario) else Scenario(name=UNTITLED)


def keep(scenario: Scenario) -> None:
    """Make `scenario` the one being edited."""
    st.session_state[SCENARIO_KEY] = scenario


# -- widgets ------------------------------------------------------------------------------


def flash() -> None:
    """The outcome of the last action, once."""
    if FLASH_KEY in st.session_state:
        kind, text = st.session_state.pop(FLASH_KEY)
        (st.success if kind == "success" else st.error)(text)


def settings_row(scenario: Scenario) -> Scenario:
    """Name, walking speed and time threshold of the scenario."""
    a, b, c = st.columns([2, 2, 1])
    name = a.text_input("Scenario name", value=scenario.name, key="planning_name",
                        placeholder="e.g. A school for Kamppi")
    speeds = {f"{WALK_SPEED_KMH:g} km/h (adults)": WALK_SPEED_KMH,
              f"{SLOW_WALK_SPEED_KMH:g} km/h (slow walkers)": SLOW_WALK_SPEED_KMH,
              "another speed": None}
    labels = list(speeds)
    chosen = next((k for k, v in speeds.items() if v == scenario.speed_kmh), labels[-1])
    label = b.radio("Walking speed", labels, index=labels.index(chosen), horizontal=True,
                    key="planning_speed")
    speed = speeds[label] or b.number_input("km/h", min_value=1.0, max_value=8.0,
                                            value=float(scenario.speed_kmh), step=0.1,
                                            key="planning_speed_value")
    minutes = c.number_input("Minutes", min_value=1, max_value=30,
                             value=int(scenario.minutes), step=1, key="planning_minutes")
    return replace(scenario, name=name.strip() or UNTITLED, speed_kmh=float(speed),
                   minutes=float(minutes))


def category_picker() -> str:
    """The service category the map shows and edits apply to."""
    return st.selectbox("Service category", options=list(CATEGORIES), key="planning_category",
                        format_func=lambda c: CATEGORY_LABELS[c])


def _cell_rows(cells: pl.DataFrame, measure: str) -> list[dict[str, object]]:
    """One row per cell to draw: the share within reach coloured by the app's classes
    (observatory/views/colours.py, the same as every other map), and the change's colour."""
    rows = cells.filter(pl.col("measure") == measure)
    shares = scale_of(rows["share_after"].to_list())
    changes = scale_of(rows["change"].to_list(), diverging=True)
    faint = EFFECT_COLOURS["uncertain"]
    out = []
    for row in rows.iter_rows(named=True):
        share, certain = row["share_after"], row["effect"] != "uncertain"
        out.append({"h3_hex": f"{row['h3_cell']:x}", "effect": row["effect"],
                    "fill": shares.rgba(share) or faint,
                    "diff": (changes.rgba(row["change"], alpha=210) if certain else None)
                    or faint,
                    "label": "uncertain" if share is None else
                    f"{format_value(share, unit='%')} within reach"})
    return out


def share_legend(cells: pl.DataFrame, measure: str) -> str:
    """The classes of the pick map in words (or that every cell shares one value)."""
    shares = cells.filter(pl.col("measure") == measure)["share_after"].to_list()
    labels = legend_labels(shares, class_breaks(shares))
    return "Share of residents within reach: " + ", ".join(labels)


def _deck(rows: list[dict[str, object]], facilities: pl.DataFrame, *, colour: str) -> pdk.Deck:
    layers = [hexagon_layer(rows, fill=colour)]
    if facilities.height:
        layers.append(pdk.Layer("ScatterplotLayer", id="facilities",
                                data=facilities.to_dicts(), get_position=["lon", "lat"],
                                get_fill_color=[20, 20, 20, 230], get_radius=18,
                                radius_min_pixels=4, pickable=True))
    return deck(layers, [str(r["h3_hex"]) for r in rows], height=460,
                tooltip="<b>{label}{id}</b>")


def pick_map(data: dict[str, Any], focus: str) -> None:
    """The map of who reaches `focus` within the threshold, with its facilities: a click
    on a cell picks the place for a new or moved facility, on a facility picks it."""
    rows = _cell_rows(data["cells"], focus)
    event = st.pydeck_chart(_deck(rows, data["facilities"], colour="fill"), height=460,
                            width="stretch", on_select="rerun",
                            selection_mode="single-object", key="planning_map")
    shares = {r["label"] for r in rows}
    colours = (f"Every cell shown has the same share ({next(iter(shares))}): nothing varies "
               "to map at this threshold; try fewer minutes or the slow-walker speed."
               if len(shares) == 1 else
               f"{share_legend(data['cells'], focus)} % (viridis: lighter is more).")
    st.caption(f"{colours} Black dots: the facilities. Click a cell to place a facility "
               "there, or a dot to pick that facility.")
    from observatory.ui.widgets import table_behind

    table_behind(pl.DataFrame(rows).select("h3_hex", "label") if rows else pl.DataFrame(),
                 label="Table behind the map: residents within reach per cell")
    objects = (getattr(getattr(event, "selection", None), "objects", None) or {})
    cell = (objects.get("cells") or [None])[0]
    facility = (objects.get("facilities") or [None])[0]
    picked = str(facility["id"]) if facility else (str(cell["h3_hex"]) if cell else None)
    if picked is None or picked == st.session_state.get(PICKED_KEY):
        return  # nothing new clicked: what the planner typed stays
    st.session_state[PICKED_KEY] = picked
    if facility:  # the form's widgets are created after the map: set their values now
        st.session_state["planning_edit_facility"] = picked
    else:
        lat, lon = h3.cell_to_latlng(picked)
        st.session_state["planning_edit_lon"] = round(lon, 6)
        st.session_state["planning_edit_lat"] = round(lat, 6)



def edit_form(scenario: Scenario, focus: str, facilities: pl.DataFrame) -> None:
    """Add, close or move a facility of `focus` (place from the map or typed)."""
    with st.form("planning_edit", border=True):
        kind = st.radio("Edit", ["add", "close", "move"], horizontal=True,
                        key="planning_edit_kind",
                        format_func={"add": "Add a facility", "close": "Close one",
                                     "move": "Move one"}.__getitem__)
        ids = facilities["id"].to_list() if facilities.height else []
        facility = st.selectbox("Facility (to close or move)", options=ids, index=None,
                                key="planning_edit_facility")
        a, b, c = st.columns([1, 1, 2])
        lon = a.number_input("Longitude", value=None, format="%.6f", key="planning_edit_lon")
        lat = b.number_input("Latitude", value=None, format="%.6f", key="planning_edit_lat")
        name = c.text_input("Name (optional)", key="planning_edit_name")
        if st.form_submit_button("Apply the edit", type="primary"):
            _apply(scenario, kind=kind, focus=focus, facility=facility, lon=lon, lat=lat,
                   name=name)


def _apply(scenario: Scenario, *, kind: str, focus: str, facility: str | None,
           lon: float | None, lat: float | None, name: str) -> None:
    if kind in ("add", "move") and (lon is None or lat is None):
        st.session_state[FLASH_KEY] = ("error", "Pick a place on the map or type its "
                                                "longitude and latitude.")
        st.rerun()
    if kind in ("close", "move") and not facility:
        st.session_state[FLASH_KEY] = ("error", "Pick the facility to close or move.")
        st.rerun()
    number = sum(e.kind == "add" for e in scenario.edits) + 1
    edit = Edit(kind=kind, category=focus, name=name or None, lon=lon, lat=lat,
                facility_id=facility if kind != "add" else f"new-{focus}-{number}")
    trial = replace(scenario, edits=(*scenario.edits, edit))
    problem = figures(trial, focus).get("problem")
    if problem:
        st.session_state[FLASH_KEY] = ("error", re.sub(r"^this scenario line \d+: ", "",
                                                         problem))
    else:
        keep(trial)
    st.rerun()
