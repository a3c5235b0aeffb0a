-- The 15-minute score of each resident: how many of the six functions of the 15-minute
-- city (Moreno et al. 2021: supplying, caring, learning, enjoying, plus public transport
-- and open space; `FUNCTIONS` in observatory/accessibility/targets.py) have a service
-- within `$max_minutes` walk at `$speed_kmh`; per cell the residents-weighted mean over the
-- residents whose score is certain (store macro `fifteen_minute_cells`).
SELECT h3_cell,
       resident_score AS numerator,
       certain AS denominator,
       CASE WHEN certain > 0 THEN resident_score / certain END AS value
FROM fifteen_minute_cells($speed_kmh * 1000.0 / 60.0 * $max_minutes)
