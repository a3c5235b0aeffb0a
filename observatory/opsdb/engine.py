"""Engines of the operational database: which URL, how connections behave, one per URL.

SQLite gets WAL, a 30 s busy timeout, synchronous=FULL and foreign keys, and SQLAlchemy's
pysqlite recipe for real transactions: the driver's own transaction handling is off and
BEGIN is emitted in the "begin" event, IMMEDIATE for writes (the write lock is taken at
the start, so two writers queue instead of failing mid-transaction), deferred for reads.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from observatory.errors import InputError
from observatory.opsdb.migrate import migrate

DATABASE_ENV = "OBSERVATORY_DATABASE_URL"
BUSY_TIMEOUT_MS = 30_000
_WRITE = "observatory_write"


class OpsDatabaseUnavailable(InputError, ConnectionError):
    """The operational database cannot be reached (server down, wrong host or port)."""


def _store_link(store: Path) -> Path:
    """The store link for a path that may already point inside `<store>.d/snapshots/`."""
    parent = store.parent
    if parent.name == "snapshots" and parent.parent.name.endswith(".d"):
        return parent.parent.with_name(parent.parent.name.removesuffix(".d"))
    return store


def sqlite_path_for(store: Path) -> Path:
    """The SQLite file beside a store: var/observatory.duckdb → var/observatory.ops.sqlite."""
    link = _store_link(Path(store))
    return link.with_name(f"{link.name.removesuffix('.duckdb')}.ops.sqlite")


def ops_url_for(store: Path | None = None, *, url: str | None = None) -> str:
    """The URL to use: `url`, else $OBSERVATORY_DATABASE_URL, else SQLite beside `store`
    (the configured store when None). postgresql:// means the psycopg driver."""
    chosen = (url or os.environ.get(DATABASE_ENV, "")).strip()
    if not chosen:
        if store is None:
            from observatory.settings import store_path

            store = store_path()
        return f"sqlite:///{sqlite_path_for(store)}"
    for prefix in ("postgresql://", "postgres://"):
        if chosen.startswith(prefix):
            return "postgresql+psycopg://" + chosen.removeprefix(prefix)
    return chosen


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"busy_timeout = {BUSY_TIMEOUT_MS}",
            "journal_mode = WAL",
            "synchronous = FULL",
            "foreign_keys = ON",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _engine(url: str) -> Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            pool_size=10,
            max_overflow=30,
            pool_timeout=60,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
        )
        _sqlite_events(engine)
        return engine
    return sa.create_engine(
        parsed,
        pool_size=5,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )


def unavailable(url: str, error: BaseException) -> OpsDatabaseUnavailable:
    """One line naming the host and port (never the password) and how to fix it."""
    parsed = sa.make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = reason[0] if reason else type(error).__name__
    return OpsDatabaseUnavailable(
        f"operational database at {where} is unreachable ({first}); start it or fix "
        f"${DATABASE_ENV}."
    )


@dataclass(frozen=True)
class OpsDB:
    """A handle on one operational database: short read and write transactions."""

    url: str
    engine: Engine
    writer: Engine  # the same pool; its transactions take the write lock at BEGIN
    migrated: bool = False  # whether this process applied migrations when it opened it

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def _transaction(self, engine: Engine) -> Iterator[Connection]:
        try:
            conn = engine.connect()
        except exc.OperationalError as error:
            if self.dialect == "sqlite":
                raise
            raise unavailable(self.url, error) from None
        with conn, conn.begin():
            yield conn

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction: committed when the block succeeds, rolled back otherwise."""
        return self._transaction(self.writer)

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """A read transaction (one consistent view)."""
        return self._transaction(self.engine)

    def serialize(self, conn: Connection, name: str) -> None:
        """Hold a lock named `name` until this write transaction ends (SQLite's writers are
        serialized by BEGIN IMMEDIATE already)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})


_CACHE: dict[tuple[int, str], OpsDB] = {}
_CACHE_LOCK = threading.Lock()


def _open(url: str) -> OpsDB:
    engine = _engine(url)
    writer = engine.execution_options(**{_WRITE: True})
    database = sa.make_url(url).database
    lock = (
        Path(database + ".migrate.lock")
        if engine.dialect.name == "sqlite" and database and database != ":memory:"
        else None
    )
    try:
        ops = OpsDB(
            url=url, engine=engine, writer=writer, migrated=migrate(engine, writer, lock_file=lock)
        )
    except exc.OperationalError as error:
        engine.dispose()
        if engine.dialect.name == "sqlite":
            raise
        raise unavailable(url, error) from None
    except BaseException:
        engine.dispose()
        raise
    return ops


def ops_database(store: Path | None = None, *, url: str | None = None) -> OpsDB:
    """The operational database of `store` (see `ops_url_for`), migrated to the head
    revision on first use; cached per URL in this process (engines are thread-safe)."""
    resolved = ops_url_for(store, url=url)
    key = (os.getpid(), resolved)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _open(resolved)
        return _CACHE[key]


def close_ops_databases(url: str | None = None) -> None:
    """Dispose the cached engines of this process (of one URL when given), e.g. before
    dropping a database."""
    wanted = ops_url_for(url=url) if url else None
    with _CACHE_LOCK:
        for key in [k for k in _CACHE if wanted is None or k[1] == wanted]:
            _CACHE.pop(key).engine.dispose()
