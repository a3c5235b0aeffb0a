-- Mean walking time (minutes at `$speed_kmh`) to the nearest service of `$category`,
-- weighted by residents, with longer times counted as `$cap_minutes` (a capped mean: the
-- search stops at `search_limit_m`, so farther services are not timed). Shared by every
-- `<category>_walk_minutes` definition.
--
-- A resident's capped time is certain when the extract's edge is at least that far in a
-- straight line (`certain_within_m`): no walk through services beyond the extract could
-- be shorter. Other residents are left out and counted by walk_minutes_uncertain_share.sql.
WITH capped AS (
    SELECT h3_cell, residents, certain_within_m,
           CASE WHEN $speed_kmh * 1000.0 / 60.0 * $cap_minutes > search_limit_m
                THEN error('walk_minutes.sql: cap_minutes at speed_kmh walks farther than '
                           || 'the search limit of walk_access_origins (search_limit_m); '
                           || 'lower cap_minutes or raise SEARCH_LIMIT_M in '
                           || 'observatory/accessibility/targets.py')
                ELSE least(coalesce(distance_m, 'infinity'::DOUBLE),
                           $speed_kmh * 1000.0 / 60.0 * $cap_minutes)
           END AS capped_m
    FROM walk_access_origins
    WHERE category = $category
), per_cell AS (
    SELECT h3_cell,
           sum(residents * capped_m / ($speed_kmh * 1000.0 / 60.0))
               FILTER (WHERE certain_within_m >= capped_m) AS resident_minutes,
           sum(residents) FILTER (WHERE certain_within_m >= capped_m) AS certain
    FROM capped
    GROUP BY h3_cell
), cells AS (
    SELECT h3_cell FROM study_cells UNION SELECT h3_cell FROM walk_access_origins
)
SELECT
    cells.h3_cell,
    coalesce(p.resident_minutes, 0) AS numerator,
    coalesce(p.certain, 0) AS denominator,
    CASE WHEN p.certain > 0 THEN p.resident_minutes / p.certain END AS value
FROM cells
LEFT JOIN per_cell AS p USING (h3_cell)
