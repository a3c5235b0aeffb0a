"""15-minute walking accessibility per H3 cell, on the walking network.

`compute_walk_access` builds the graph, snaps residents' buildings, cell centres and
services to it, runs one multi-source shortest-path search per target and writes the
`TABLES` that the indicators under indicators/accessibility/ read with plain SQL.
`model_from_store` gives the reusable model itself (for scenarios).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np

from observatory.accessibility.history import CHANGES, MethodChange
from observatory.accessibility.model import AccessModel, model_from_store
from observatory.accessibility.points import Origins, Services, services_from_points
from observatory.accessibility.tables import TABLES, write_walk_access
from observatory.accessibility.targets import (
    FUNCTIONS,
    MAX_MINUTES,
    SEARCH_LIMIT_M,
    SLOW_WALK_SPEED_KMH,
    SOURCE_ID,
    TARGET_NAMES,
    TARGETS,
    WALK_SPEED_KMH,
    uncertain_companion,
)
from observatory.network import MAX_SNAP_M, MIN_COMPONENT_NODES
from observatory.store import SourceRecord, inputs_as_of

__all__ = [
    "CHANGES", "FUNCTIONS", "MAX_MINUTES", "METHOD_TEXT", "SEARCH_LIMIT_M",
    "SLOW_WALK_SPEED_KMH", "SOURCE_ID", "TABLES", "TARGETS", "TARGET_NAMES", "WALK_SPEED_KMH",
    "AccessModel", "MethodChange", "Origins", "Services", "compute_walk_access",
    "model_from_store", "services_from_points", "uncertain_companion", "write_walk_access",
]

METHOD_TEXT = (
    "Shortest walks on the OpenStreetMap walking network (every way walkable both ways; "
    "which ways are walkable follows one tag rule, below), one multi-source Dijkstra "
    f"search per service target up to {SEARCH_LIMIT_M:.0f} m. Residential buildings "
    "(weighted by residents), cell centres and services join the nearest point of the "
    "nearest walkable way within "
    f"{MAX_SNAP_M:.0f} m, at ground level before tunnels, other layers and indoor ways, "
    f"on a component of at least {MIN_COMPONENT_NODES} nodes; the way is split there and "
    "the straight-line snap distance counts in the walk. Parks "
    "enter at their representative point or at any network node inside the circle of "
    "their area around it. A resident served within a cutoff is served whatever lies "
    "beyond the extract; one not served, or a walking time, is certain only when the "
    "straight-line distance to the hull of the network nodes is at least the cutoff (the "
    "walk found); other residents are uncertain, left out of shares and counted by the "
    "`_uncertain_share` companions. Residents are modelled, not counted."
)


def compute_walk_access(con: duckdb.DuckDBPyConnection, *,
                        progress: Callable[[str], None],
                        distances_with: Callable[..., np.ndarray] | None = None,
                        ) -> SourceRecord:
    """Compute walking access for every target and write `TABLES`; the provenance record.

    Needs `osm_nodes`, `osm_edges`, `osm_pois`, `population_cells` and `study_cells` (and
    `building_residents` with `osm_buildings` when residents are modelled per building).
    The record's `issues` list every origin or service that could not be snapped.
    `distances_with` replaces the single-machine distances (a Spark build's regions).
    """
    model = (model_from_store(con) if distances_with is None
             else model_from_store(con, distances_with=distances_with))
    graph = model.graph
    components = int(np.unique(graph.components()).size)
    progress(f"walk access: graph of {graph.n_nodes} nodes, {graph.n_edges} edges, "
             f"{components} components; {model.origins.size} origins, "
             f"{model.centres.size} cell centres")
    counts = write_walk_access(con, model=model)
    issues = model.snap_issues()
    residents = float(model.origins.residents.sum())
    progress(f"walk access: {len(model.services)} targets written, {len(issues)} snap issues")
    return SourceRecord(
        source_id=SOURCE_ID, type="derived", path="osm_nodes, osm_edges, osm_pois, "
        "population_cells, building_residents",
        licence="ODbL-1.0 (derived from OpenStreetMap)", sha256="-", row_counts=counts,
        modelled=True, data_as_of=inputs_as_of(con, ("osm_pbf", "population")), issues=issues,
        notes=f"{residents:.0f} residents at {model.origins.size} origins. {METHOD_TEXT}",
    )
