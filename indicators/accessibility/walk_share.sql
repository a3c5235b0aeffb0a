-- Share of residents within `$max_minutes` walk at `$speed_kmh` of the nearest service of
-- `$category`, over the residents whose status is certain. Shared by every
-- `<category>_15min_walk_share` and `<category>_15min_slow_walk_share` definition.
--
-- A resident is served when the walk found (snap distances included) is within the
-- cutoff: a path through services beyond the extract could only be shorter. A resident
-- not served is certain only when the extract's edge is at least the cutoff away in a
-- straight line (`certain_within_m`), since no walk is shorter than the straight line.
-- Other residents are uncertain: left out of both terms and counted by
-- walk_uncertain_share.sql.
WITH status AS (
    SELECT h3_cell, residents,
           coalesce(distance_m <= $speed_kmh * 1000.0 / 60.0 * $max_minutes, false) AS served,
           certain_within_m >= $speed_kmh * 1000.0 / 60.0 * $max_minutes AS edge_far
    FROM walk_access_origins
    WHERE category = $category
), per_cell AS (
    SELECT h3_cell,
           sum(residents) FILTER (WHERE served) AS served,
           sum(residents) FILTER (WHERE served OR edge_far) AS certain
    FROM status
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
