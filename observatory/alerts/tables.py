"""Alert states, and a helper to ask the analytical store which tables it has.

The alerts themselves live in the operational database (observatory/opsdb/schema.py); the
analytical store keeps only analytical data.
"""

from __future__ import annotations

import duckdb

from observatory.opsdb.schema import ALERT_STATES, OPEN_STATES

__all__ = ["ALERT_STATES", "OPEN_STATES", "has_table"]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the store has a table or view called `name`."""
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_name = $n",
            {"n": name},
        ).fetchall()[0][0]
    )
