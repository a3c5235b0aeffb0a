-- Share of residents whose 15-minute score (fifteen_minute_score.sql) is uncertain: some
-- function is not reached within `$max_minutes` at `$speed_kmh` and the extract's edge is
-- nearer than that cutoff, so a service beyond it might add to the score.
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
           NOT bool_and(reached)
           AND any_value(certain_within_m) < $speed_kmh * 1000.0 / 60.0 * $max_minutes
               AS uncertain
    FROM reach
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
