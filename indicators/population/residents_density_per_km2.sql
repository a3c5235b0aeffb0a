SELECT
    c.h3_cell,
    coalesce(p.population, 0) AS numerator,
    c.area_m2 AS denominator,
    1e6 * coalesce(p.population, 0) / c.area_m2 AS value
FROM study_cells AS c
LEFT JOIN population_cells AS p USING (h3_cell)
