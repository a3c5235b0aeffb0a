"""SQL table macros over `walk_access_origins`, persisted in the store with the tables.

They hold the rules every accessibility indicator shares, once, so that each definition's
SQL only says what it measures (and still runs as-is in a DuckDB shell on the store):

- A resident is *served* when the walk found (snap distances included) is within the
  cutoff: a path through services beyond the extract could only be shorter.
- A resident not served is *certain* only when the extract's edge is at least the cutoff
  away in a straight line (`certain_within_m`), since no walk is shorter than the straight
  line. Other residents are *uncertain*: left out of shares, counted by the companions.
- Every macro returns one row per cell of the study area (and of any origin outside it),
  with zeros where no resident lives.
"""

from __future__ import annotations

import duckdb

from observatory.accessibility.targets import FUNCTIONS

_FUNCTION_ROWS = ", ".join(f"('{category}', '{function}')"
                           for function, categories in FUNCTIONS.items()
                           for category in categories)

MACROS_SQL = (
    # Every cell an indicator reports on.
    """CREATE OR REPLACE MACRO walk_cells() AS TABLE
    SELECT h3_cell FROM study_cells UNION SELECT h3_cell FROM walk_access_origins""",
    # Residents served / certain / all per cell, served meaning any target of `targets`
    # within its own cutoff (`cutoffs`, metres, in the same order); the edge must be at
    # least the longest cutoff away for an unserved resident to be certain.
    """CREATE OR REPLACE MACRO walk_reach_cells(targets, cutoffs) AS TABLE
    WITH per_origin AS (
        SELECT origin_id, any_value(h3_cell) AS h3_cell, any_value(residents) AS residents,
               coalesce(bool_or(distance_m <= cutoffs[list_position(targets, category)]),
                        false) AS served,
               bool_and(certain_within_m >= list_max(cutoffs)) AS edge_far
        FROM walk_access_origins
        WHERE list_contains(targets, category)
        GROUP BY origin_id
    ), per_cell AS (
        SELECT h3_cell,
               sum(residents) FILTER (WHERE served) AS served,
               sum(residents) FILTER (WHERE served OR edge_far) AS certain,
               sum(residents) AS residents
        FROM per_origin
        GROUP BY h3_cell
    )
    SELECT c.h3_cell, coalesce(p.served, 0) AS served, coalesce(p.certain, 0) AS certain,
           coalesce(p.residents, 0) AS residents
    FROM walk_cells() AS c LEFT JOIN per_cell AS p USING (h3_cell)""",
    # The 15-minute score: how many functions of the 15-minute city (FUNCTIONS in
    # targets.py) each resident reaches within `cutoff_m`; a score is certain when every
    # function is reached or the edge is at least the cutoff away.
    f"""CREATE OR REPLACE MACRO fifteen_minute_cells(cutoff_m) AS TABLE
    WITH functions(category, function) AS (VALUES {_FUNCTION_ROWS}),
    reach AS (
        SELECT o.origin_id, f.function, any_value(o.h3_cell) AS h3_cell,
               any_value(o.residents) AS residents,
               bool_and(o.certain_within_m >= cutoff_m) AS edge_far,
               bool_or(coalesce(o.distance_m <= cutoff_m, false)) AS reached
        FROM walk_access_origins AS o JOIN functions AS f USING (category)
        GROUP BY o.origin_id, f.function
    ), per_origin AS (
        SELECT origin_id, any_value(h3_cell) AS h3_cell, any_value(residents) AS residents,
               count(*) FILTER (WHERE reached) AS score,
               bool_and(reached) OR bool_and(edge_far) AS certain
        FROM reach
        GROUP BY origin_id
    ), per_cell AS (
        SELECT h3_cell,
               sum(residents * score) FILTER (WHERE certain) AS resident_score,
               sum(residents) FILTER (WHERE certain) AS certain,
               sum(residents) AS residents
        FROM per_origin
        GROUP BY h3_cell
    )
    SELECT c.h3_cell, coalesce(p.resident_score, 0) AS resident_score,
           coalesce(p.certain, 0) AS certain, coalesce(p.residents, 0) AS residents
    FROM walk_cells() AS c LEFT JOIN per_cell AS p USING (h3_cell)""",
    # Walking minutes at `speed_kmh` to the nearest `target`, capped at `cap_minutes` (the
    # search stops at search_limit_m, so farther services are not timed); a capped time
    # is certain when the edge is at least that far.
    """CREATE OR REPLACE MACRO walk_minutes_cells(target, speed_kmh, cap_minutes) AS TABLE
    WITH capped AS (
        SELECT h3_cell, residents, certain_within_m,
               CASE WHEN speed_kmh * 1000.0 / 60.0 * cap_minutes > search_limit_m
                    THEN error('walk_minutes_cells: cap_minutes at speed_kmh walks farther '
                               || 'than the search limit (search_limit_m); lower cap_minutes '
                               || 'or raise SEARCH_LIMIT_M in observatory/accessibility/'
                               || 'targets.py')
                    ELSE least(coalesce(distance_m, 'infinity'::DOUBLE),
                               speed_kmh * 1000.0 / 60.0 * cap_minutes)
               END AS capped_m
        FROM walk_access_origins
        WHERE category = target
    ), per_cell AS (
        SELECT h3_cell,
               sum(residents * capped_m / (speed_kmh * 1000.0 / 60.0))
                   FILTER (WHERE certain_within_m >= capped_m) AS resident_minutes,
               sum(residents) FILTER (WHERE certain_within_m >= capped_m) AS certain,
               sum(residents) AS residents
        FROM capped
        GROUP BY h3_cell
    )
    SELECT c.h3_cell, coalesce(p.resident_minutes, 0) AS resident_minutes,
           coalesce(p.certain, 0) AS certain, coalesce(p.residents, 0) AS residents
    FROM walk_cells() AS c LEFT JOIN per_cell AS p USING (h3_cell)""",
)


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the accessibility macros in the store."""
    for statement in MACROS_SQL:
        con.execute(statement)
