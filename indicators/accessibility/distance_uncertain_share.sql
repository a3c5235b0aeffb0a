-- Share of residents whose status at `$max_m` metres' walk from the nearest service of
-- `$category` is uncertain (the companion of distance_share.sql; rule in walk_share.sql).
WITH status AS (
    SELECT h3_cell, residents,
           NOT coalesce(distance_m <= $max_m, false) AND certain_within_m < $max_m AS uncertain
    FROM walk_access_origins
    WHERE category = $category
), per_cell AS (
    SELECT h3_cell,
           coalesce(sum(residents) FILTER (WHERE uncertain), 0) AS uncertain,
           sum(residents) AS residents
    FROM status
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
