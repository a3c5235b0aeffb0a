-- Share of residents whose status at `$max_minutes` walk at `$speed_kmh` from the nearest
-- service of `$category` is uncertain: not served within the extract, and the extract's
-- edge nearer than the cutoff, so a service beyond it might serve them (or their building
-- could not be joined to the network: `certain_within_m` is 0 then). The companion of
-- walk_share.sql: its denominator is this one's denominator minus this numerator.
WITH status AS (
    SELECT h3_cell, residents,
           NOT coalesce(distance_m <= $speed_kmh * 1000.0 / 60.0 * $max_minutes, false)
           AND certain_within_m < $speed_kmh * 1000.0 / 60.0 * $max_minutes AS uncertain
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
