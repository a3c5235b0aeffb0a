"""The operational database: what people do, in short transactions (SQLAlchemy Core).

The analytical store (observatory/store.py) holds immutable DuckDB snapshots that builds
publish; everything people create lives here instead, so a build never races a person and
a person never waits for a build. Today it holds the alerts' lifecycle and audit trail
(`alerts`, `alert_events`, `alert_rule_status`) and the notification outbox
(`notification_outbox`, `notification_attempts`). Users and role grants, saved scenarios
and indicator drafts arrive in later issues, each as a further migration in
observatory/opsdb/migrations/versions/.

One code path for both backends: `$OBSERVATORY_DATABASE_URL` (PostgreSQL through psycopg)
when set, otherwise SQLite in WAL mode in a file beside the store
(`var/observatory.duckdb` → `var/observatory.ops.sqlite`). Migrations run on first use,
serialized across processes (a lock file beside the SQLite file, an advisory lock on
PostgreSQL), and are skipped when the database is already at the head revision.
"""

from observatory.opsdb.engine import (
    DATABASE_ENV,
    OpsDatabaseUnavailable,
    OpsDB,
    close_ops_databases,
    ops_database,
    ops_url_for,
    sqlite_path_for,
)
from observatory.opsdb.migrate import HEAD

__all__ = [
    "DATABASE_ENV",
    "HEAD",
    "OpsDB",
    "OpsDatabaseUnavailable",
    "close_ops_databases",
    "ops_database",
    "ops_url_for",
    "sqlite_path_for",
]
