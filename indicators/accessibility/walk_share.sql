-- Share of residents within `$max_minutes` walk at `$speed_kmh` of the nearest service of
-- `$category`, over the residents whose status is certain. Shared by every
-- `<category>_15min_walk_share` and `<category>_15min_slow_walk_share` definition.
-- The served / certain rule is the store macro `walk_reach_cells`
-- (observatory/accessibility/macros.py).
SELECT h3_cell,
       served AS numerator,
       certain AS denominator,
       CASE WHEN certain > 0 THEN 100.0 * served / certain END AS value
FROM walk_reach_cells([$category], [$speed_kmh * 1000.0 / 60.0 * $max_minutes])
