-- Mean walking time (minutes at `$speed_kmh`) to the nearest service of `$category`,
-- weighted by residents, with longer times counted as `$cap_minutes` (a capped mean: the
-- search stops at `search_limit_m`). Shared by every `<category>_walk_minutes`
-- definition; residents whose capped time is uncertain are left out (store macro
-- `walk_minutes_cells`) and counted by walk_minutes_uncertain_share.sql.
SELECT h3_cell,
       resident_minutes AS numerator,
       certain AS denominator,
       CASE WHEN certain > 0 THEN resident_minutes / certain END AS value
FROM walk_minutes_cells($category, $speed_kmh, $cap_minutes)
