"""UI-agnostic query functions: what pages (through observatory.ui) call.

Each takes a read-only DuckDB connection first and returns a Polars frame or a small
dataclass. Role filtering and disclosure control happen here, never in the UI.
"""

from __future__ import annotations

from observatory.lazypkg import lazy

# Each public name and the submodule it lives in, loaded on first use (PEP 562): a command
# that lists datasets does not import every view and its libraries.
_EXPORTS = {
    "CellMap": "model", "ChangeNote": "walking", "IndicatorSummary": "model",
    "MAX_MAP_CELLS": "model", "Methodology": "model", "Provenance": "model",
    "SourceRef": "model", "TargetStatus": "model", "WalkingMethod": "walking",
    "available_periods": "indicators", "available_resolutions": "indicators",
    "choose_resolution": "indicators", "coverage_resolutions": "datasets",
    "dataset_catalogue": "datasets", "dataset_cells": "datasets",
    "headline_scorecard": "indicators", "indicator_catalogue": "indicators",
    "indicator_cells": "indicators", "indicator_methodology": "indicators",
    "indicator_summary": "indicators", "map_resolutions": "indicators",
    "map_resolutions_of": "indicators", "summary_of": "indicators",
    "IndicatorMap": "published", "indicator_map": "published",
    "indicator_overview": "published", "whole_area_trend": "published",
    "Trend": "trends", "officials_scorecard": "trends", "indicator_trend": "trends",
    "district_periods": "trends", "district_comparison": "trends",
    "district_period_labels": "trends",
    "what_changed": "trends", "forecast_backtests": "trends", "has_trends": "trends",
    "headline_provenance": "trends", "trend_catalogue": "trends",
    "brief_files": "brief", "service_performance_of": "services",
    "population_method": "walking", "store_schema": "datasets",
    "indicator_lineage": "lineage", "lineage_dot": "lineage", "lineage_graph": "lineage",
    "mappable_tables": "datasets", "poi_counts_by_cell": "datasets",
    "provenance_for_tables": "provenance", "ranked_cells": "indicators",
    "registry_status": "registry_status", "service_performance": "services",
    "snapshot_caption": "snapshots", "snapshots_table": "snapshots",
    "sources_catalogue": "datasets", "street_context": "datasets",
    "suppress_small_cells": "disclosure", "visible_spec": "indicators",
    "visible_specs": "indicators", "walking_method": "walking",
    "draft_inputs": "drafts", "preview_map": "drafts", "preview_resolutions": "drafts",
    "draft_distribution": "drafts",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy(__name__, _EXPORTS)
