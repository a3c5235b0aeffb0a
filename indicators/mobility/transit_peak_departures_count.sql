-- Mean departures per hour over hours `$first_hour`..`$last_hour` of the representative
-- weekday, summed over the GTFS stops of each cell.
SELECT
    s.h3_cell,
    CAST(year(any_value(d.service_date)) AS VARCHAR) AS period,
    sum(d.departures) / ($last_hour - $first_hour + 1) AS value
FROM gtfs_stop_departures AS d
JOIN gtfs_stops AS s USING (feed_id, stop_id)
JOIN study_cells AS c ON c.h3_cell = s.h3_cell
WHERE d.hour BETWEEN $first_hour AND $last_hour
GROUP BY s.h3_cell
