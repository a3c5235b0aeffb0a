-- Share of residents whose capped walking time to the nearest service of `$category`
-- (walk_minutes.sql) is uncertain: the extract's edge is nearer than that walk, so a
-- service beyond it might be closer (or the building could not be joined to the network).
WITH capped AS (
    SELECT h3_cell, residents, certain_within_m,
           least(coalesce(distance_m, 'infinity'::DOUBLE),
                 $speed_kmh * 1000.0 / 60.0 * $cap_minutes) AS capped_m
    FROM walk_access_origins
    WHERE category = $category
), per_cell AS (
    SELECT h3_cell,
           coalesce(sum(residents) FILTER (WHERE certain_within_m < capped_m), 0) AS uncertain,
           sum(residents) AS residents
    FROM capped
    GROUP BY h3_cell
), cells AS (
    SELECT h3_cell FROM study_cells UNION SELECT h3_cell FROM walk_access_origins
)
SELECT
    cells.h3_cell,
    coalesce(p.uncertain, 0) AS numerator,
    coalesce(p.residents, 0) AS denominator,
    CASE WHEN p.residents > 0 THEN 100.0 * p.uncertain / p.residents END AS value
FROM cells
LEFT JOIN per_cell AS p USING (h3_cell)
