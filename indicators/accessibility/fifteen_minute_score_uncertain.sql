-- Share of residents whose 15-minute score (fifteen_minute_score.sql) is uncertain: some
-- function is not reached within `$max_minutes` at `$speed_kmh` and the extract's edge is
-- nearer than that cutoff, so a service beyond it might add to the score.
SELECT h3_cell,
       residents - certain AS numerator,
       residents AS denominator,
       CASE WHEN residents > 0 THEN 100.0 * (residents - certain) / residents END AS value
FROM fifteen_minute_cells($speed_kmh * 1000.0 / 60.0 * $max_minutes)
