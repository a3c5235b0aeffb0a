-- Share of residents whose SDG 11.2.1 status (sdg_11_2_1.sql) is uncertain: no stop within
-- the cutoffs inside the extract, and the extract's edge nearer than the longer cutoff.
SELECT h3_cell,
       residents - certain AS numerator,
       residents AS denominator,
       CASE WHEN residents > 0 THEN 100.0 * (residents - certain) / residents END AS value
FROM walk_reach_cells([$low_target, $high_target], [$low_capacity_m, $high_capacity_m])
