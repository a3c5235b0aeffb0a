-- Share of residents within `$max_m` metres' walk of the nearest service of `$category`,
-- over the residents whose status is certain (same rule as walk_share.sql, with the
-- cutoff given in metres as SDG 11.7.1 does).
WITH status AS (
    SELECT h3_cell, residents,
           coalesce(distance_m <= $max_m, false) AS served,
           certain_within_m >= $max_m AS edge_far
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
