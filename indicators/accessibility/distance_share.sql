-- Share of residents within `$max_m` metres' walk of the nearest service of `$category`,
-- over the residents whose status is certain (as walk_share.sql, with the cutoff in
-- metres as SDG 11.7.1 gives it).
SELECT h3_cell,
       served AS numerator,
       certain AS denominator,
       CASE WHEN certain > 0 THEN 100.0 * served / certain END AS value
FROM walk_reach_cells([$category], [$max_m])
