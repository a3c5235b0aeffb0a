-- SDG 11.2.1: share of residents within `$low_capacity_m` metres' walk of a low-capacity
-- public-transport stop (bus, tram) or `$high_capacity_m` of a high-capacity one (rail,
-- metro, ferry), over the residents whose status is certain (an unserved resident is
-- certain when the extract's edge is at least the longer cutoff away).
-- `$low_target` / `$high_target` name the walk-access targets: OpenStreetMap stops
-- (public_transport_low/high) or GTFS stops that pass the frequency criterion
-- (frequent_transit_low/high).
SELECT h3_cell,
       served AS numerator,
       certain AS denominator,
       CASE WHEN certain > 0 THEN 100.0 * served / certain END AS value
FROM walk_reach_cells([$low_target, $high_target], [$low_capacity_m, $high_capacity_m])
