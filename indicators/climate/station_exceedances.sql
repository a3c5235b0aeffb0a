-- Exceedances of a limit at each station and year: hours whose mean is above `$limit`
-- (`$period_kind` = 'hour') or days whose 24-hour mean is above it ('day'). Every cell
-- shows its nearest station; parents and the whole area keep the worst station
-- (aggregation: max), because a limit value applies at every station.
WITH stations AS (
    SELECT series_id
    FROM sensor_series
    WHERE variable = $variable AND location_flag = 'ok'
),
nearest AS (  -- store macro of the timeseries connector
    SELECT * FROM nearest_station($variable)
),
periods AS (  -- hourly slots from the hourly means, daily ones from the daily sums
    SELECT series_id, year(hour) AS y, (mean * n) / n AS slot_mean, 1 AS hours
    FROM sensor_readings_hourly JOIN stations USING (series_id)
    WHERE $period_kind = 'hour'
    UNION ALL
    SELECT series_id, year(day) AS y, weighted_sum / n AS slot_mean, hours
    FROM sensor_readings_daily JOIN stations USING (series_id)
    WHERE $period_kind <> 'hour'
),
yearly AS (
    SELECT series_id, CAST(y AS VARCHAR) AS period,
           count(*) FILTER (WHERE slot_mean > $limit) AS exceedances,
           sum(hours) AS hours
    FROM periods GROUP BY ALL
)
SELECT n.h3_cell, y.period, CAST(y.exceedances AS DOUBLE) AS value
FROM nearest AS n JOIN yearly AS y USING (series_id)
WHERE y.hours >= $min_hours
