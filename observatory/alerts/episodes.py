"""From condition rows to episodes: runs of consecutive breaching slots, kept when they last
`pending` slots, merged when fewer than `keep_firing` clear slots separate them.

An episode is ongoing when fewer than `keep_firing` clear slots follow its last breaching
slot at that place; otherwise it ended with its last breaching slot.
"""

from __future__ import annotations

import duckdb
import polars as pl

from observatory.store import read_frame

EPISODES_SQL = """
WITH c AS (SELECT * FROM _alert_cond),
last AS (SELECT rule_id, place, max(slot) AS last_slot FROM c GROUP BY ALL),
b AS (
    SELECT c.*, p.sign,
           slot - row_number() OVER (PARTITION BY c.rule_id, place ORDER BY slot) AS island
    FROM c JOIN _alert_params AS p USING (rule_id) WHERE breach
),
runs AS (
    SELECT rule_id, place, island, any_value(sign) AS sign, min(slot) AS first_slot,
           max(slot) AS end_slot, count(*) AS n, min(slot_start) AS started_at,
           max(slot_end) AS ended_at, arg_max(value, value * sign) AS peak,
           arg_max(value, slot) AS last_value, arg_max(threshold, slot) AS threshold,
           list(slot_start ORDER BY slot) AS starts
    FROM b GROUP BY rule_id, place, island
),
kept AS (
    SELECT runs.*, p.pending, p.keep_firing,
           CASE WHEN first_slot - lag(end_slot) OVER w - 1 < p.keep_firing THEN 0 ELSE 1 END
               AS new_episode
    FROM runs JOIN _alert_params AS p USING (rule_id)
    WHERE n >= p.pending
    WINDOW w AS (PARTITION BY rule_id, place ORDER BY first_slot)
),
grouped AS (
    SELECT *, sum(new_episode) OVER (PARTITION BY rule_id, place ORDER BY first_slot
                                     ROWS UNBOUNDED PRECEDING) AS episode
    FROM kept
),
episodes AS (
    SELECT rule_id, place, episode, min(started_at) AS started_at,
           arg_min(starts[pending], first_slot) AS fired_at, max(end_slot) AS end_slot,
           max(ended_at) AS ended_at, arg_max(last_value, end_slot) AS value,
           arg_max(peak, peak * sign) AS peak, arg_max(threshold, end_slot) AS threshold,
           sum(n) AS slots,
           any_value(keep_firing) AS keep_firing
    FROM grouped GROUP BY rule_id, place, episode
)
SELECT e.rule_id, e.place, e.started_at, e.fired_at,
       CASE WHEN l.last_slot - e.end_slot < e.keep_firing THEN NULL ELSE e.ended_at END
           AS ended_at,
       e.value, e.peak, e.threshold, e.slots
FROM episodes AS e JOIN last AS l USING (rule_id, place)
ORDER BY e.rule_id, e.place, e.started_at
"""


def episodes_from_conditions(con: duckdb.DuckDBPyConnection,
                             params: pl.DataFrame) -> pl.DataFrame:
    """Episodes of every rule and place in `_alert_cond`; `params` has rule_id, pending,
    keep_firing and sign (+1 when larger values are worse)."""
    con.register("_alert_params", params.to_arrow())
    try:
        return read_frame(con, EPISODES_SQL)
    finally:
        con.unregister("_alert_params")
