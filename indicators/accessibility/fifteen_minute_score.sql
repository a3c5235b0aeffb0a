-- The 15-minute score of each resident: how many of the six functions below have at least
-- one service within `$max_minutes` walk at `$speed_kmh` (0 to 6); per cell the
-- residents-weighted mean. The functions follow the social functions of the 15-minute
-- city (Moreno et al. 2021: supplying, caring, learning, enjoying) plus public transport
-- and open space; the same mapping is `FUNCTIONS` in observatory/accessibility/targets.py.
--
-- A resident's score is certain when every function is reached, or when the extract's
-- edge is at least the cutoff away (an unreached function stays unreached). Other
-- residents are left out and counted by fifteen_minute_score_uncertain.sql.
WITH functions(category, function) AS (
    VALUES ('grocery', 'supplying'), ('healthcare', 'caring'), ('pharmacy', 'caring'),
           ('school', 'learning'), ('culture_library', 'enjoying'), ('sport', 'enjoying'),
           ('public_transport', 'public_transport'), ('park', 'open_space')
), reach AS (
    SELECT o.origin_id, f.function,
           any_value(o.h3_cell) AS h3_cell, any_value(o.residents) AS residents,
           any_value(o.certain_within_m) AS certain_within_m,
           bool_or(coalesce(o.distance_m <= $speed_kmh * 1000.0 / 60.0 * $max_minutes, false))
               AS reached
    FROM walk_access_origins AS o
    JOIN functions AS f USING (category)
    GROUP BY o.origin_id, f.function
), per_origin AS (
    SELECT origin_id, any_value(h3_cell) AS h3_cell, any_value(residents) AS residents,
           count(*) FILTER (WHERE reached) AS score,
           bool_and(reached)
               OR any_value(certain_within_m) >= $speed_kmh * 1000.0 / 60.0 * $max_minutes
               AS certain
    FROM reach
    GROUP BY origin_id
), per_cell AS (
    SELECT h3_cell,
           sum(residents * score) FILTER (WHERE certain) AS resident_score,
           sum(residents) FILTER (WHERE certain) AS certain
    FROM per_origin
    GROUP BY h3_cell
), cells AS (
    SELECT h3_cell FROM study_cells UNION SELECT h3_cell FROM walk_access_origins
)
SELECT
    cells.h3_cell,
    coalesce(p.resident_score, 0) AS numerator,
    coalesce(p.certain, 0) AS denominator,
    CASE WHEN p.certain > 0 THEN p.resident_score / p.certain END AS value
FROM cells
LEFT JOIN per_cell AS p USING (h3_cell)
