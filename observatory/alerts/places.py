"""Where an alert is: a readable label, a stable id, and an H3 cell and coordinates for the
map (none for the whole area or a data feed)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import h3

from observatory.alerts.tables import has_table


@dataclass(frozen=True)
class Place:
    """One alert place."""

    kind: str  # cell | district | whole | station | source
    id: str
    label: str
    h3_cell: int | None = None
    lat: float | None = None
    lon: float | None = None


WHOLE = Place("whole", "whole", "whole area")


def _cell_place(kind: str, cell: int) -> Place:
    text = h3.int_to_str(cell)
    lat, lon = h3.cell_to_latlng(text)
    return Place(kind, text, f"{kind} {text}", cell, lat, lon)


class PlaceBook:
    """Turns the BIGINT `place` of condition rows into `Place`s, per place kind."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._stations: dict[int, Place] = {}
        if has_table(con, "sensor_series"):
            for sid, station, variable, lat, lon, cell in con.execute(
                    "SELECT series_id, station_id, variable, lat, lon, h3_cell "
                    "FROM sensor_series").fetchall():
                self._stations[int(sid)] = Place("station", f"{station}/{variable}",
                                                 f"station {station} ({variable})",
                                                 cell, lat, lon)
        self.sources: list[str] = []
        self.areas: list[tuple[str, str, str]] = []
        self._cache: dict[tuple[str, int], Place] = {}

    def place(self, kind: str, place: int) -> Place:
        """The `Place` of one condition-row place of a rule with this place kind."""
        key = (kind, place)
        if key not in self._cache:
            self._cache[key] = self._lookup(kind, place)
        return self._cache[key]

    def _lookup(self, kind: str, place: int) -> Place:
        if kind in ("cell", "district"):
            return _cell_place(kind, place)
        if kind == "station":
            return self._stations.get(place, Place("station", str(place), f"series {place}"))
        if kind == "source":
            source = self.sources[place]
            return Place("source", source, f"source {source}")
        if kind == "area":
            return self._area(place)
        return WHOLE

    def _area(self, place: int) -> Place:
        area_kind, area_id, name = self.areas[place]
        if area_kind == "whole":
            return WHOLE
        try:
            cell = h3.str_to_int(area_id)
            if h3.is_valid_cell(area_id):
                lat, lon = h3.cell_to_latlng(area_id)
                return Place("district", area_id, name, cell, lat, lon)
        except (ValueError, TypeError):
            pass
        return Place(area_kind, area_id, name)
