"""Bring an operational database to the head revision, once, whoever asks first.

Opening is fast when nothing is to do: the recorded revision is read and compared with
HEAD without loading Alembic. Otherwise migrations run under a lock, so several processes
opening one fresh database at the same moment apply them exactly once: an exclusive flock
on a lock file beside a SQLite file (plus SQLite's own BEGIN IMMEDIATE), and a
transaction-scoped advisory lock on PostgreSQL (DDL there is transactional).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0004"  # the newest revision in migrations/versions (a test checks they agree)
_ADVISORY_KEY = 7_406_211_839  # any constant shared by every observatory process


def recorded_revision(conn: Connection) -> str | None:
    """The revision Alembic recorded in this database; None when it has none."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def script_head() -> str:
    """The head revision of the migration scripts (slow: loads every script)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


@contextlib.contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def migrate(engine: Engine, writer: Engine, *, lock_file: Path | None) -> bool:
    """Apply the missing migrations; True when any ran. `writer` opens write transactions
    (BEGIN IMMEDIATE on SQLite); `lock_file` serializes processes on SQLite."""
    with engine.connect() as conn:
        if recorded_revision(conn) == HEAD:
            return False
    with _file_lock(lock_file), writer.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
        if recorded_revision(conn) == HEAD:
            return False
        _upgrade(conn)
    return True
