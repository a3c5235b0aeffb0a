-- Footprints are split over the cells they overlap (osm_building_cells), so a cell's
-- covered area never exceeds its own area.
WITH footprints AS (
    SELECT h3_cell, sum(footprint_m2) AS footprint_m2
    FROM osm_building_cells
    GROUP BY h3_cell
)
SELECT
    c.h3_cell,
    coalesce(f.footprint_m2, 0) AS numerator,
    c.area_m2 AS denominator,
    100.0 * coalesce(f.footprint_m2, 0) / c.area_m2 AS value
FROM study_cells AS c
LEFT JOIN footprints AS f USING (h3_cell)
