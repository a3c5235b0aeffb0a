SELECT
    c.h3_cell,
    count(p.poi_id) AS value
FROM study_cells AS c
LEFT JOIN osm_pois AS p ON p.h3_cell = c.h3_cell AND p.category = 'public_transport'
GROUP BY c.h3_cell
