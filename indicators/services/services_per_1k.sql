-- Points of interest of one service category per 1,000 modelled residents, per H3 cell.
-- Shared by every `<category>_per_1k` definition in this folder; `$category` is bound.
WITH services AS (
    SELECT h3_cell, count(*) AS services
    FROM osm_pois
    WHERE category = $category
    GROUP BY h3_cell
)
SELECT
    c.h3_cell,
    coalesce(s.services, 0) AS numerator,
    coalesce(p.population, 0) AS denominator,
    CASE WHEN coalesce(p.population, 0) > 0
         THEN 1000.0 * coalesce(s.services, 0) / p.population END AS value
FROM study_cells AS c
LEFT JOIN services AS s USING (h3_cell)
LEFT JOIN population_cells AS p USING (h3_cell)
