-- Share of residents whose SDG 11.2.1 status (sdg_11_2_1.sql) is uncertain: no stop within
-- the cutoffs inside the extract, and the extract's edge nearer than the longer cutoff.
WITH per_origin AS (
    SELECT origin_id, any_value(h3_cell) AS h3_cell, any_value(residents) AS residents,
           NOT coalesce(bool_or(category = $low_target
                                AND distance_m <= $low_capacity_m)
                        OR bool_or(category = $high_target
                                   AND distance_m <= $high_capacity_m), false)
           AND any_value(certain_within_m) < greatest($low_capacity_m, $high_capacity_m)
               AS uncertain
    FROM walk_access_origins
    WHERE category IN ($low_target, $high_target)
    GROUP BY origin_id
), per_cell AS (
    SELECT h3_cell,
           coalesce(sum(residents) FILTER (WHERE uncertain), 0) AS uncertain,
           sum(residents) AS residents
    FROM per_origin
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
