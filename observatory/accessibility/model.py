"""The reusable accessibility model: a graph, snapped origins and one distance field per target.

Built once from the store, then updated one target at a time: a scenario that adds or
removes a service calls `with_services` for that target only, which re-runs a single
shortest-path search and leaves the graph, the snapping and the other targets alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np

from observatory.accessibility.points import (
    Origins,
    Services,
    Snapper,
    centre_rows,
    origin_rows,
    origins_from_rows,
    service_rows,
    services_from_rows,
    snap_rows,
    snap_to_edges,
)
from observatory.accessibility.targets import SEARCH_LIMIT_M, TARGETS, Target
from observatory.network import MAX_SNAP_M, WalkGraph, distances_from_sources, graph_from_store
from observatory.snapping import same_edge_walks


@dataclass(eq=False)
class AccessModel:
    """Walking distances from every origin to the nearest service of each target."""

    graph: WalkGraph
    origins: Origins  # residents
    centres: Origins  # study-cell centres (the map)
    limit_m: float = SEARCH_LIMIT_M
    services: dict[str, Services] = field(default_factory=dict)
    node_distances: dict[str, np.ndarray] = field(default_factory=dict)
    # How node distances are computed: on this machine, or region by region on Spark
    # (observatory/spark/regions.py); both give the same numbers.
    distances_with: Callable[..., np.ndarray] = distances_from_sources

    def with_services(self, services: Services) -> None:
        """Set one target's services and recompute that target's distances only."""
        nodes, offsets = services.snap.entries()
        self.services[services.target] = services
        self.node_distances[services.target] = self.distances_with(
            self.graph, sources=nodes, offsets_m=offsets, limit_m=self.limit_m)

    def distances(self, target: str, *, origins: Origins | None = None) -> np.ndarray:
        """Metres from each origin to the nearest service (inf: none within the limit).

        The walk counts the origin's snap distance, the network (from the split of its
        edge) and the service's snap distance, or runs straight along the edge when the
        service lies on the same one; an origin that could not be snapped gets inf.
        """
        points = self.origins if origins is None else origins
        out = np.minimum(points.snap.walks_from(self.node_distances[target]),
                         same_edge_walks(points.snap, self.services[target].snap))
        out[out > self.limit_m] = np.inf
        return out

    def snap_issues(self) -> list[str]:
        """One message per origin or service too far from the network to be snapped."""
        issues = [_origin_issue(self.origins, i) for i in np.flatnonzero(~self.origins.snap.ok)]
        if off := int((~self.centres.snap.ok).sum()):
            issues.append(f"walk access: {off} cells have no walkable way within "
                          f"{MAX_SNAP_M:.0f} m of their centre; the map shows no walking time "
                          "there (see walk_access_cells.on_network).")
        for services in self.services.values():
            reached = set(services.ids[services.snap.ok].tolist())
            for i in np.flatnonzero(~services.snap.ok):
                if services.ids[i] not in reached:
                    issues.append(_service_issue(services, i))
        return issues


def _origin_issue(origins: Origins, i: int) -> str:
    return (f"walk access: origin {origins.ids[i]} ({origins.kind[i]}, "
            f"{origins.residents[i]:.1f} residents) at lon {origins.lon[i]:.6f}, "
            f"lat {origins.lat[i]:.6f} is {origins.snap.distance_m[i]:.0f} m from the nearest "
            f"walkable way (limit {MAX_SNAP_M:.0f} m); its residents count as uncertain. "
            "Check the building's position or extend the extract's walking network.")


def _service_issue(services: Services, i: int) -> str:
    return (f"walk access: service {services.ids[i]} ({services.target}) at lon "
            f"{services.lon[i]:.6f}, lat {services.lat[i]:.6f} is "
            f"{services.snap.distance_m[i]:.0f} m from the nearest walkable way (limit "
            f"{MAX_SNAP_M:.0f} m); left out. Check its position in OpenStreetMap or the "
            "extract's walking network.")


def model_from_store(con: duckdb.DuckDBPyConnection, *,
                     targets: tuple[Target, ...] = TARGETS, limit_m: float = SEARCH_LIMIT_M,
                     snapper: Snapper = snap_to_edges,
                     distances_with: Callable[..., np.ndarray] = distances_from_sources,
                     ) -> AccessModel:
    """Build the graph, snap origins, cell centres and services, and compute every target.

    `snapper` places points on the graph (the benchmark passes nearest-node snapping);
    `distances_with` computes node distances (a Spark build passes its regional engine).
    """
    graph = graph_from_store(con)
    origins, centres = origin_rows(con), centre_rows(con)
    services = {t: rows for t in targets  # GTFS targets wait for a feed
                if (rows := service_rows(con, t)) is not None}
    snaps = snap_rows(graph, [origins, centres, *services.values()], snapper=snapper)
    model = AccessModel(graph=graph, limit_m=limit_m, distances_with=distances_with,
                        origins=origins_from_rows(graph, origins, snap=snaps[0]),
                        centres=origins_from_rows(graph, centres, snap=snaps[1]))
    for (target, rows), snap in zip(services.items(), snaps[2:], strict=True):
        model.with_services(services_from_rows(graph, rows, target=target, snap=snap))
    return model
