-- Population-weighted exposure: every populated cell takes the yearly figure of its
-- nearest station of `$variable` (equirectangular distance between cell centre and
-- station); numerator = figure × residents, denominator = residents, so parents and the
-- whole area are population-weighted means over the stations' catchments.
-- `$measure` picks the yearly figure: 'mean' (mean of hourly means), 'hot_days' (days
-- whose hourly maximum exceeds `$threshold`).
WITH stations AS (
    SELECT series_id
    FROM sensor_series
    WHERE variable = $variable AND location_flag = 'ok'
),
nearest AS (  -- store macro of the timeseries connector
    SELECT * FROM nearest_station($variable)
),
daily AS (  -- only the hot-days measure needs it (the filter on the parameter skips it)
    SELECT series_id, CAST(hour AS DATE) AS day, max("max") AS day_max
    FROM sensor_readings_hourly JOIN stations USING (series_id)
    WHERE $measure = 'hot_days'
    GROUP BY ALL
),
yearly AS (
    SELECT h.series_id, CAST(year(h.hour) AS VARCHAR) AS period,
           avg(h.mean) AS mean, count(*) AS hours
    FROM sensor_readings_hourly AS h JOIN stations USING (series_id)
    GROUP BY ALL
),
hot AS (
    SELECT series_id, CAST(year(day) AS VARCHAR) AS period,
           count(*) FILTER (WHERE day_max > $threshold) AS hot_days
    FROM daily GROUP BY ALL
),
figures AS (
    SELECT y.series_id, y.period,
           CASE $measure WHEN 'mean' THEN y.mean ELSE CAST(h.hot_days AS DOUBLE) END AS figure
    FROM yearly AS y LEFT JOIN hot AS h USING (series_id, period)
    WHERE y.hours >= $min_hours
)
SELECT n.h3_cell, f.period,
       f.figure * p.population AS numerator,
       p.population AS denominator,
       f.figure AS value
FROM nearest AS n
JOIN figures AS f USING (series_id)
JOIN population_cells AS p USING (h3_cell)
WHERE p.population > 0
