WITH years AS (
    SELECT DISTINCT year(requested_at) AS y FROM service_requests
)
SELECT r.h3_cell, CAST(years.y AS VARCHAR) AS period, CAST(count(*) AS DOUBLE) AS value
FROM service_requests AS r
JOIN years ON year(r.requested_at) <= years.y
JOIN study_cells USING (h3_cell)
WHERE r.closed_at IS NULL OR year(r.closed_at) > years.y
GROUP BY r.h3_cell, years.y
