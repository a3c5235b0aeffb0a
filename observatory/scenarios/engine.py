"""What-if on walking access: add, close or move a facility, exactly and incrementally.

A `WhatIf` starts from the store's accessibility model (one distance field per target on
the walking network) and applies edits to one target at a time, recomputing only what can
change:

- adding a facility runs one search from it, limited to the search limit, and keeps the
  nearer of the old and new distance at every node;
- closing one runs the same search from it to find the nodes whose nearest facility it
  was (or tied), and recomputes only those: a search on that region alone, entered from
  its valid border nodes at their (unchanged) distances and from the remaining facilities
  inside it. Every other node's shortest walk never used the closed facility, so it holds;
- moving is closing then adding.

The result equals a full recompute (tests/test_scenarios.py checks it on the Helsinki
network and with Hypothesis over random edit sequences); `undo` restores the state before
the last edit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from observatory.accessibility.model import AccessModel
from observatory.accessibility.points import Origins, Services, services_from_points
from observatory.errors import InputError
from observatory.network import MAX_SNAP_M, distances_from_sources
from observatory.snapping import concat, same_edge_walks, snap_points

TIE_M = 1e-6  # a node this close to the closed facility's walk is recomputed (ties too)


class ScenarioError(InputError, ValueError):
    """An edit that cannot apply; the message says where and why."""


@dataclass(frozen=True)
class Field:
    """One target's facilities and the walk from the nearest to every node."""

    services: Services
    node_distances: np.ndarray


class WhatIf:
    """A scenario's state over an accessibility model (the model is not changed)."""

    def __init__(self, model: AccessModel) -> None:
        self.model = model
        self.fields: dict[str, Field] = {
            t: Field(services=s, node_distances=model.node_distances[t])
            for t, s in model.services.items()}
        self._undo: list[tuple[str, Field]] = []

    # -- edits ---------------------------------------------------------------------------

    def add(self, target: str, *, facility_id: str, lon: float, lat: float) -> None:
        """A new facility of `target` at (lon, lat); refused off the network."""
        self._unique(target, facility_id)
        self._add(target, services_from_points(
            self.model.graph, target=target, ids=np.array([facility_id]), lon=np.array([lon]),
            lat=np.array([lat])))

    def add_xy(self, target: str, *, facility_id: str, xy: np.ndarray) -> None:
        """A new facility at a point of the graph's plane (metres; graphs without lon/lat)."""
        self._unique(target, facility_id)
        snap = snap_points(self.model.graph, xy=np.asarray(xy, dtype=np.float64).reshape(1, 2))
        nan = np.array([np.nan])
        self._add(target, Services(target=target, ids=np.array([facility_id], dtype=object),
                                   kind=np.array(["poi"], dtype=object), lon=nan, lat=nan,
                                   snap=snap, radius_m=np.zeros(1)))

    def _unique(self, target: str, facility_id: str) -> None:
        if facility_id in set(self._field(target).services.ids.tolist()):
            raise ScenarioError(f"{target}: a facility `{facility_id}` exists already; give "
                                "the new one another id.")

    def _add(self, target: str, new: Services) -> None:
        field = self._field(target)
        facility_id, lon, lat = new.ids[0], float(new.lon[0]), float(new.lat[0])
        if not bool(new.snap.ok[0]):
            raise ScenarioError(
                f"{target} `{facility_id}` at lon {lon:.6f}, lat {lat:.6f} is "
                f"{new.snap.distance_m[0]:.0f} m from the nearest walkable way (limit "
                f"{MAX_SNAP_M:.0f} m): place it on land within reach of the walking network.")
        nodes, offsets = new.snap.entries()
        reach = self._search(nodes, offsets)
        self._set(target, Field(services=_joined(field.services, new),
                                node_distances=np.minimum(field.node_distances, reach)))

    def close(self, target: str, *, facility_id: str) -> None:
        """Remove an existing facility of `target` (every access point of a park)."""
        field = self._field(target)
        rows = field.services.ids == facility_id
        if not rows.any():
            raise ScenarioError(f"{target}: no facility `{facility_id}` to close"
                                f"{_did_you_mean(facility_id, field.services.ids)}.")
        gone = field.services.snap.take(np.flatnonzero(rows))
        kept = _take(field.services, np.flatnonzero(~rows))
        nodes, offsets = gone.entries()
        via_closed = self._search(nodes, offsets)
        old = field.node_distances
        region = np.isfinite(old) & (via_closed <= old + TIE_M)
        fresh = old.copy()
        fresh[region] = self._region_search(region, old, kept)
        self._set(target, Field(services=kept, node_distances=fresh))

    def move(self, target: str, *, facility_id: str, lon: float, lat: float) -> None:
        """Close a facility and open it again at (lon, lat)."""
        before = len(self._undo)
        self.close(target, facility_id=facility_id)
        try:
            self.add(target, facility_id=facility_id, lon=lon, lat=lat)
        except ScenarioError:
            self.undo()
            raise
        previous = self._undo[before]
        del self._undo[before:]
        self._undo.append(previous)  # one undo step for the move

    def undo(self) -> None:
        """Restore the state before the last edit (nothing when there is none)."""
        if self._undo:
            target, field = self._undo.pop()
            self.fields[target] = field

    # -- results -------------------------------------------------------------------------

    def distances(self, target: str, *, origins: Origins | None = None) -> np.ndarray:
        """Metres from each origin to the nearest facility of `target` (inf: none)."""
        field = self._field(target)
        points = self.model.origins if origins is None else origins
        out = np.minimum(points.snap.walks_from(field.node_distances),
                         same_edge_walks(points.snap, field.services.snap))
        out[out > self.model.limit_m] = np.inf
        return out

    def full_recompute(self, target: str) -> np.ndarray:
        """`target`'s node distances from scratch (what the incremental ones must equal)."""
        nodes, offsets = self._field(target).services.snap.entries()
        return self._search(nodes, offsets)

    # -- internals -----------------------------------------------------------------------

    def _field(self, target: str) -> Field:
        if target not in self.fields:
            known = ", ".join(sorted(self.fields))
            raise ScenarioError(f"unknown service category `{target}`; the store has: {known}.")
        return self.fields[target]

    def _set(self, target: str, field: Field) -> None:
        self._undo.append((target, self.fields[target]))
        self.fields[target] = field

    def _search(self, nodes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return distances_from_sources(self.model.graph, sources=nodes, offsets_m=offsets,
                                      limit_m=self.model.limit_m)

    def _region_search(self, region: np.ndarray, old: np.ndarray,
                       kept: Services) -> np.ndarray:
        """Distances of the `region` nodes from the remaining facilities: a search on the
        region alone from a virtual node joined to each region node by the shortest of its
        border edges (a valid neighbour's distance plus the edge) and of the facilities
        entering the graph there."""
        inside = np.flatnonzero(region)
        local = np.full(region.size, -1, dtype=np.int64)
        local[inside] = np.arange(inside.size)
        rows = self.model.graph.csr[inside].tocoo()  # edges out of the region's nodes
        r, j, w = rows.row, rows.col, rows.data
        within = region[j]
        seed = np.full(inside.size, np.inf)
        border = ~within & np.isfinite(old[j])
        np.minimum.at(seed, r[border], old[j[border]] + w[border])
        nodes, offsets = kept.snap.entries()
        mine = region[nodes]
        np.minimum.at(seed, local[nodes[mine]], offsets[mine])
        n = inside.size
        start = np.flatnonzero(np.isfinite(seed))
        graph = sp.csr_array(
            (np.r_[w[within], seed[start]],
             (np.r_[r[within], np.full(start.size, n)], np.r_[local[j[within]], start])),
            shape=(n + 1, n + 1))
        out = np.asarray(dijkstra(graph, directed=True, indices=n, limit=self.model.limit_m))
        return out[:n]


def _joined(services: Services, new: Services) -> Services:
    return Services(target=services.target, ids=np.r_[services.ids, new.ids],
                    kind=np.r_[services.kind, new.kind], lon=np.r_[services.lon, new.lon],
                    lat=np.r_[services.lat, new.lat], snap=concat([services.snap, new.snap]),
                    radius_m=np.r_[services.radius_m, new.radius_m])


def _take(services: Services, index: np.ndarray) -> Services:
    return replace(services, ids=services.ids[index], kind=services.kind[index],
                   lon=services.lon[index], lat=services.lat[index],
                   snap=services.snap.take(index), radius_m=services.radius_m[index])


def _did_you_mean(word: str, ids: np.ndarray) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(set(ids.tolist())), n=1)
    return f"; did you mean `{close[0]}`?" if close else ""
