-- Modelled residents per resolution-10 cell; the numerator is the count itself so that
-- disclosure control can test it against min_count.
SELECT
    c.h3_cell,
    coalesce(p.population, 0) AS value,
    coalesce(p.population, 0) AS numerator,
    coalesce(p.population, 0) AS denominator
FROM study_cells AS c
LEFT JOIN population_cells AS p USING (h3_cell)
