-- Share of residents whose capped walking time to the nearest service of `$category`
-- (walk_minutes.sql) is uncertain: the extract's edge is nearer than that walk, so a
-- service beyond it might be closer (or the building could not be joined to the network).
SELECT h3_cell,
       residents - certain AS numerator,
       residents AS denominator,
       CASE WHEN residents > 0 THEN 100.0 * (residents - certain) / residents END AS value
FROM walk_minutes_cells($category, $speed_kmh, $cap_minutes)
