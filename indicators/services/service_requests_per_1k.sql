WITH requests AS (
    SELECT h3_cell, CAST(year(requested_at) AS VARCHAR) AS period, count(*) AS requests
    FROM service_requests
    WHERE h3_cell IS NOT NULL
    GROUP BY ALL
)
SELECT r.h3_cell, r.period,
       CAST(r.requests AS DOUBLE) AS numerator,
       p.population AS denominator,
       1000.0 * r.requests / p.population AS value
FROM requests AS r
JOIN population_cells AS p USING (h3_cell)
JOIN study_cells USING (h3_cell)
WHERE p.population > 0
