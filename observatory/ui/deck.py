"""Hexagon maps as deck.gl specs: the one map builder of every page.

pydeck serialises a deck with `json.dumps(..., indent=2)`, which runs Python's pure-Python
encoder over every row of every layer: for the street layer drawn under each map that was
one of the largest costs of a page load (`observatory bench load`), and the indentation
made the payload a third larger. `deck()` builds the same spec, compact, with the layers'
rows encoded by the C encoder and the streets encoded once per snapshot by Polars.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import h3
import pydeck as pdk
import streamlit as st
from pydeck.bindings.json_tools import default_serialize

from observatory.ui.gateway import context, fetch
from observatory.views.datasets import street_context

STREET_COLOUR = [30, 30, 30, 110]


class _Encoded(str):
    """Rows already encoded as a JSON array."""


class CompactDeck(pdk.Deck):
    """A pydeck Deck whose JSON is compact and whose layer rows are encoded natively."""

    def to_json(self) -> str:
        payloads: dict[str, str] = {}
        kept = []
        for number, layer in enumerate(self.layers):
            token = f"__observatory_layer_rows_{number}__"
            kept.append(layer.data)
            data = layer.data
            payloads[f'"{token}"'] = (data if isinstance(data, _Encoded)
                                      else json.dumps(data, separators=(",", ":")))
            layer.data = token
        try:  # pydeck's own serialiser, without its indentation
            spec = json.dumps(self, sort_keys=True, default=default_serialize,
                              separators=(",", ":"))
        finally:
            for layer, data in zip(self.layers, kept, strict=True):
                layer.data = data
        for token, payload in payloads.items():
            spec = spec.replace(token, payload, 1)
        return spec


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def view_state(hexes: Sequence[str], *, height: int, width: int = 800) -> pdk.ViewState:
    """Centre and zoom that fit the cells in a `width` × `height` px map (deck.gl tiles)."""
    if not hexes:
        return pdk.ViewState(latitude=0, longitude=0, zoom=1)
    points = [h3.cell_to_latlng(cell) for cell in hexes]
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    lon_span = (max(lons) - min(lons)) / 360 * 512
    lat_span = (_mercator_y(max(lats)) - _mercator_y(min(lats))) / (2 * math.pi) * 512
    fit = min(0.8 * width / max(lon_span, 1e-9), 0.8 * height / max(lat_span, 1e-9))
    return pdk.ViewState(latitude=(min(lats) + max(lats)) / 2,
                         longitude=(min(lons) + max(lons)) / 2,
                         zoom=min(max(math.log2(fit), 2.0), 16.0))


@st.cache_resource(max_entries=2, show_spinner=False)
def _encoded_streets(snapshot: str) -> str:
    """The snapshot's streets as one JSON array, encoded once per snapshot."""
    del snapshot  # the cache key: `fetch` reads the same snapshot
    return fetch(street_context).write_json()


def _street_rows() -> _Encoded | None:
    """The snapshot's streets as encoded rows (None when the store has no streets)."""
    text = _encoded_streets(context().snapshot)
    return None if text == "[]" else _Encoded(text)


def hexagon_layer(rows: list[dict[str, Any]], *, fill: str = "fill",
                  layer_id: str = "cells") -> pdk.Layer:
    """Cells coloured by their `fill` column, outlined in white, with a hover highlight."""
    return pdk.Layer("H3HexagonLayer", id=layer_id, data=rows, get_hexagon="h3_hex",
                     get_fill_color=fill, get_line_color=[255, 255, 255, 160],
                     line_width_min_pixels=0.5, stroked=True, filled=True, extruded=False,
                     pickable=True, auto_highlight=True)


def deck(layers: list[pdk.Layer], hexes: Sequence[str], *, height: int, tooltip: str,
         with_streets: bool = True) -> CompactDeck:
    """`layers` over the snapshot's streets (for orientation: there is no basemap, nothing
    is fetched from the network), fitted to `hexes`."""
    streets = _street_rows() if with_streets else None
    if streets is not None:
        layers = [layers[0], pdk.Layer(
            "LineLayer", id="streets", data=streets,
            get_source_position=["from_lon", "from_lat"],
            get_target_position=["to_lon", "to_lat"], get_color=STREET_COLOUR, get_width=1,
            width_min_pixels=1, pickable=False), *layers[1:]]
    return CompactDeck(layers=layers, initial_view_state=view_state(hexes, height=height),
                       map_provider=None, tooltip={"html": tooltip})
