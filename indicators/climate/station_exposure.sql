-- Population-weighted exposure: every populated cell takes the yearly figure of its
-- nearest station of `$variable` (equirectangular distance between cell centre and
-- station); numerator = figure × residents, denominator = residents, so parents and the
-- whole area are population-weighted means over the stations' catchments.
-- `$measure` picks the yearly figure: 'mean' (mean of hourly means), 'hot_days' (days
-- whose hourly maximum exceeds `$threshold`). Both come from `sensor_readings_daily`, the
-- per-day sums of the hourly means (UTC days).
WITH stations AS (
    SELECT series_id
    FROM sensor_series
    WHERE variable = $variable AND location_flag = 'ok'
),
nearest AS (  -- store macro of the timeseries connector
    SELECT * FROM nearest_station($variable)
),
yearly AS (  -- from the daily aggregates (UTC days) of the hourly means
    SELECT d.series_id, CAST(year(d.day) AS VARCHAR) AS period,
           sum(d.mean_sum) / sum(d.hours) AS mean, sum(d.hours) AS hours,
           count(*) FILTER (WHERE d."max" > $threshold) AS hot_days
    FROM sensor_readings_daily AS d JOIN stations USING (series_id)
    GROUP BY ALL
),
figures AS (
    SELECT series_id, period,
           CASE $measure WHEN 'mean' THEN mean ELSE CAST(hot_days AS DOUBLE) END AS figure
    FROM yearly
    WHERE hours >= $min_hours
)
SELECT n.h3_cell, f.period,
       f.figure * p.population AS numerator,
       p.population AS denominator,
       f.figure AS value
FROM nearest AS n
JOIN figures AS f USING (series_id)
JOIN population_cells AS p USING (h3_cell)
WHERE p.population > 0
