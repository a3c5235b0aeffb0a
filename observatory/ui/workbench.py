"""The analysts' SQL workbench: read-only SQL on the current snapshot, in the sandbox.

Every query runs on a locked-down DuckDB (observatory/sandbox.py): one read-only
statement, no file but the snapshot and its lake, a time limit and a row cap. One sandbox
per snapshot is kept (the gateway's `sandbox()`) and runs one query at a time; results are not
cached (an analyst reruns a query to see it again).
"""

from __future__ import annotations

import streamlit as st

from observatory.sandbox import QueryResult, SandboxError
from observatory.ui.gateway import SANDBOX_LIMITS as LIMITS
from observatory.ui.gateway import sandbox
from observatory.ui.widgets import data_table

SQL_KEY, RESULT_KEY = "analysts_workbench_sql", "analysts_workbench_result"
EXAMPLE = ("SELECT indicator, period, count(*) AS cells, round(avg(value), 2) AS mean\n"
           "FROM indicator_results\nWHERE resolution = 10\n"
           "GROUP BY ALL ORDER BY indicator, period")


def run(sql: str) -> QueryResult | str:
    """The query's capped result, or why it was refused or stopped (one line)."""
    try:
        return sandbox().query(sql, where="your query")
    except SandboxError as exc:
        return str(exc)


def _remember() -> None:
    st.session_state[RESULT_KEY] = run(st.session_state[SQL_KEY])


def editor() -> None:
    """The SQL box and its Run button (Ctrl+Enter in the box also runs it)."""
    st.text_area("SQL (one read-only query)", value=EXAMPLE, key=SQL_KEY, height=180)
    st.button("Run", on_click=_remember, icon=":material/play_arrow:", type="primary",
              key="analysts_workbench_run")


def result() -> None:
    """The last result: the table (first rows), its time and a CSV download; or the
    reason the query was refused or stopped."""
    found = st.session_state.get(RESULT_KEY)
    if found is None:
        st.caption(f"Results show the first {LIMITS.max_rows:,} rows; a query stops after "
                   f"{LIMITS.timeout_s:g} s.")
        return
    if isinstance(found, str):
        st.error(found, icon=":material/block:")
        return
    more = f", the first {LIMITS.max_rows:,} shown" if found.truncated else ""
    st.caption(f"{found.frame.height:,} rows{more} in {found.seconds * 1000:,.0f} ms.")
    data_table(found.frame, max_rows=15)
    st.download_button("Download CSV", data=found.frame.write_csv(), file_name="query.csv",
                       mime="text/csv", on_click="ignore", icon=":material/download:",
                       key="analysts_workbench_csv")
