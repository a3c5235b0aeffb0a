-- Share of residents whose status at `$max_minutes` walk at `$speed_kmh` from the nearest
-- service of `$category` is uncertain (walk_share.sql leaves them out): not served within
-- the extract, and its edge nearer than the cutoff. Rule: macro `walk_reach_cells`.
SELECT h3_cell,
       residents - certain AS numerator,
       residents AS denominator,
       CASE WHEN residents > 0 THEN 100.0 * (residents - certain) / residents END AS value
FROM walk_reach_cells([$category], [$speed_kmh * 1000.0 / 60.0 * $max_minutes])
