WITH targeted AS (
    SELECT h3_cell, CAST(year(requested_at) AS VARCHAR) AS period, requested_at, closed_at,
           CASE service_name WHEN 'Snow clearance' THEN $snow_target_days
                             WHEN 'Litter' THEN $litter_target_days
                             ELSE $default_target_days END AS target_days
    FROM service_requests
    WHERE h3_cell IS NOT NULL AND flag IS NULL
),
horizon AS (SELECT max(requested_at) AS now FROM service_requests)
SELECT h3_cell, period,
       count(*) FILTER (WHERE closed_at IS NOT NULL
                        AND closed_at <= requested_at + to_days(CAST(target_days AS INTEGER)))
           AS numerator,
       count(*) FILTER (WHERE closed_at IS NOT NULL
                        OR (SELECT now FROM horizon) > requested_at
                           + to_days(CAST(target_days AS INTEGER))) AS denominator,
       100.0 * numerator / nullif(denominator, 0) AS value
FROM targeted
JOIN study_cells USING (h3_cell)
GROUP BY h3_cell, period
