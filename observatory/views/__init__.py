"""UI-agnostic query functions: what pages (through observatory.ui) call.

Each takes a read-only DuckDB connection first and returns a Polars frame or a small
dataclass. Role filtering and disclosure control happen here, never in the UI.
"""

from observatory.views.datasets import (
    coverage_resolutions,
    dataset_catalogue,
    dataset_cells,
    mappable_tables,
    poi_counts_by_cell,
    sources_catalogue,
    street_context,
)
from observatory.views.disclosure import suppress_small_cells
from observatory.views.indicators import (
    available_periods,
    available_resolutions,
    choose_resolution,
    headline_scorecard,
    indicator_catalogue,
    indicator_cells,
    indicator_methodology,
    indicator_summary,
    map_resolutions,
    ranked_cells,
    visible_spec,
    visible_specs,
)
from observatory.views.model import (
    MAX_MAP_CELLS,
    CellMap,
    IndicatorSummary,
    Methodology,
    Provenance,
    SourceRef,
    TargetStatus,
)
from observatory.views.provenance import provenance_for_tables
from observatory.views.registry_status import registry_status
from observatory.views.services import service_performance
from observatory.views.snapshots import snapshot_caption, snapshots_table
from observatory.views.walking import ChangeNote, WalkingMethod, walking_method

__all__ = [
    "MAX_MAP_CELLS", "CellMap", "ChangeNote", "IndicatorSummary", "Methodology", "Provenance",
    "SourceRef", "TargetStatus", "WalkingMethod", "available_periods", "available_resolutions",
    "choose_resolution", "coverage_resolutions", "dataset_catalogue", "dataset_cells",
    "headline_scorecard", "indicator_catalogue", "indicator_cells", "indicator_methodology",
    "indicator_summary", "map_resolutions", "mappable_tables", "poi_counts_by_cell",
    "provenance_for_tables", "ranked_cells", "registry_status", "service_performance",
    "snapshot_caption", "snapshots_table", "sources_catalogue", "street_context",
    "suppress_small_cells", "visible_spec", "visible_specs", "walking_method",
]
