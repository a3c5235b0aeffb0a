-- SDG 11.2.1: share of residents within `$low_capacity_m` metres' walk of a low-capacity
-- public-transport stop (bus, tram) or `$high_capacity_m` of a high-capacity one (rail,
-- metro, ferry), over the residents whose status is certain (rule in walk_share.sql: an
-- unserved resident is certain when the extract's edge is at least the longer cutoff away).
-- `$low_target` / `$high_target` name the walk-access targets: OpenStreetMap stops
-- (public_transport_low/high) or GTFS stops that pass the frequency criterion
-- (frequent_transit_low/high).
WITH per_origin AS (
    SELECT origin_id, any_value(h3_cell) AS h3_cell, any_value(residents) AS residents,
           coalesce(bool_or(category = $low_target AND distance_m <= $low_capacity_m)
                    OR bool_or(category = $high_target
                               AND distance_m <= $high_capacity_m), false) AS served,
           any_value(certain_within_m) >= greatest($low_capacity_m, $high_capacity_m) AS edge_far
    FROM walk_access_origins
    WHERE category IN ($low_target, $high_target)
    GROUP BY origin_id
), per_cell AS (
    SELECT h3_cell,
           sum(residents) FILTER (WHERE served) AS served,
           sum(residents) FILTER (WHERE served OR edge_far) AS certain
    FROM per_origin
    GROUP BY h3_cell
), cells AS (
    SELECT h3_cell FROM study_cells UNION SELECT h3_cell FROM walk_access_origins
)
SELECT
    cells.h3_cell,
    coalesce(p.served, 0) AS numerator,
    coalesce(p.certain, 0) AS denominator,
    CASE WHEN p.certain > 0 THEN 100.0 * coalesce(p.served, 0) / p.certain END AS value
FROM cells
LEFT JOIN per_cell AS p USING (h3_cell)
