-- Share of residents whose status within `$max_m` metres of `$category` is uncertain
-- (distance_share.sql leaves them out).
SELECT h3_cell,
       residents - certain AS numerator,
       residents AS denominator,
       CASE WHEN residents > 0 THEN 100.0 * (residents - certain) / residents END AS value
FROM walk_reach_cells([$category], [$max_m])
