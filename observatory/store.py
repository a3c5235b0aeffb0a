"""The DuckDB store: schema, provenance, snapshots and read-only connections.

Every change goes through `write_session`: it builds the next immutable snapshot
(observatory/snapshots.py) and makes it current with one atomic link swap only when the
whole change succeeded, so readers never see a half-written store and a failure leaves
the current snapshot byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from observatory import lake, snapshots
from observatory.errors import StoreMissingError
from observatory.h3grid import MACROS_SQL

SCHEMA_SQL = (
    """
    CREATE TABLE IF NOT EXISTS sources (
        source_id VARCHAR PRIMARY KEY,
        type VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        licence VARCHAR NOT NULL,
        attribution VARCHAR,
        sha256 VARCHAR NOT NULL,
        loaded_at TIMESTAMPTZ NOT NULL,
        data_as_of TIMESTAMPTZ,
        row_counts VARCHAR NOT NULL,       -- JSON object: table -> rows
        simulated BOOLEAN NOT NULL,
        modelled BOOLEAN NOT NULL DEFAULT false,
        expected_cadence_days INTEGER,
        issues VARCHAR NOT NULL,           -- JSON list of validation messages
        notes VARCHAR,
        options VARCHAR NOT NULL DEFAULT '{}'  -- JSON object: the options it was loaded with
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS source_appends (
        source_id VARCHAR NOT NULL, path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
        rows_added BIGINT NOT NULL, overlapping BIGINT NOT NULL,
        appended_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)
    """,
    """
    CREATE TABLE IF NOT EXISTS study_cells (
        h3_cell BIGINT PRIMARY KEY, resolution TINYINT NOT NULL,
        lat DOUBLE NOT NULL, lon DOUBLE NOT NULL, area_m2 DOUBLE NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS population_cells (
        h3_cell BIGINT PRIMARY KEY, population DOUBLE NOT NULL,
        method VARCHAR NOT NULL, source_id VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS indicator_results (
        indicator VARCHAR NOT NULL, period VARCHAR NOT NULL, resolution TINYINT,
        h3_cell BIGINT, value DOUBLE, numerator DOUBLE, denominator DOUBLE,
        computed_at TIMESTAMPTZ NOT NULL, definition_hash VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS indicator_runs (
        indicator VARCHAR PRIMARY KEY, status VARCHAR NOT NULL, message VARCHAR,
        rows BIGINT, seconds DOUBLE, computed_at TIMESTAMPTZ NOT NULL,
        definition_hash VARCHAR NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class SourceRecord:
    """Provenance of one loaded source: one row of `sources`."""

    source_id: str
    type: str
    path: str
    licence: str
    sha256: str
    row_counts: dict[str, int]
    simulated: bool = False
    modelled: bool = False
    attribution: str | None = None
    data_as_of: datetime | None = None
    expected_cadence_days: int | None = None
    issues: list[str] = field(default_factory=list)
    notes: str | None = None
    options: dict[str, object] = field(default_factory=dict)


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the core tables and the H3 macros if they are missing."""
    for statement in (*SCHEMA_SQL, *MACROS_SQL, lake.MANIFEST_SQL):
        con.execute(statement)


def connect_read(path: Path, *, snapshot: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current snapshot of an existing store (or to the
    given snapshot file of it, which stays readable while it is kept)."""
    current = snapshot or snapshots.current_snapshot(path)
    if current is None:
        raise StoreMissingError(
            f"{path}: no store here yet. Build one with `observatory demo` or "
            "`observatory ingest osm PATH --store ...`."
        )
    return duckdb.connect(str(current), read_only=True, config=snapshots.connection_config(path))


def connect_in_place(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection to the current snapshot itself (or a new plain store file),
    bypassing the snapshot discipline: for tests that prepare a store and for repairs,
    never for the product."""
    current = snapshots.current_snapshot(path) or path
    return duckdb.connect(str(current), config=snapshots.connection_config(path))


def window_condition(column: str, start: datetime, end: datetime | None = None) -> str:
    """The SQL condition that `column` lies in [start, end) (no upper bound without end)."""
    upper = f" AND \"{column}\" < TIMESTAMPTZ '{end.isoformat()}'" if end else ""
    return f"\"{column}\" >= TIMESTAMPTZ '{start.isoformat()}'{upper}"


@contextlib.contextmanager
def rows_between(con: duckdb.DuckDBPyConnection, columns: dict[str, str], *,
                 start: datetime, end: datetime | None = None) -> Iterator[None]:
    """Within the block, the tables (or views) of `columns` show only their rows whose
    time column lies in [start, end): temporary views shadow them, and unqualified names
    resolve to the temporary schema first, also inside views and macros."""
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    for table, column in columns.items():
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{table}" AS SELECT * FROM '
                    f'"{database}".main."{table}" WHERE {window_condition(column, start, end)}')
    try:
        yield
    finally:
        for table in columns:
            con.execute(f'DROP VIEW IF EXISTS temp.main."{table}"')


# The name a write session gives the snapshot file it builds.
SESSION_DATABASE = "store"


def _session_connection(store: Path, file: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the new snapshot file attached and in use: the engine can
    let go of the file while a sandbox reads it (observatory.sandbox.isolated)."""
    con = duckdb.connect(":memory:", config=snapshots.connection_config(store))
    try:
        con.execute(f"ATTACH $p AS {SESSION_DATABASE}", {"p": str(file)})
        con.execute(f"USE {SESSION_DATABASE}")
    except BaseException:
        con.close()
        raise
    return con


@contextlib.contextmanager
def write_session(path: Path, *, fresh: bool = False,
                  label: str = "build") -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a new snapshot, published (made current) when the block succeeds.

    The session holds the store's writer lock, starts from a copy of the current snapshot
    (or an empty store with `fresh=True`) and, on success, checkpoints, fsyncs and swaps
    the store link atomically; on any failure the new file is deleted and the current
    snapshot stays as it was, byte for byte. `label` says what made the snapshot.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with snapshots.writer_lock(path):
        crashed = bool(snapshots.clean_leftovers(path))
        snapshots.adopt_plain_file(path)
        temp = snapshots.building_path(path)
        current = snapshots.current_snapshot(path)
        if current is not None and not fresh:
            shutil.copyfile(current, temp)
        con = _session_connection(path, temp)
        try:
            init_schema(con)
            yield con
            snapshot_id = snapshots.new_id()
            set_meta(con, "snapshot_label", label)
            set_meta(con, "snapshot_built_at", now_utc().isoformat())
            set_meta(con, "snapshot_id", snapshot_id)
            set_meta(con, "snapshot_parent", current.stem if current and not fresh else "")
            con.execute(f"CHECKPOINT {SESSION_DATABASE}")
            files = lake.listed_paths(con)
            con.close()
            lake.write_file_list(snapshots.publish(path, temp, snapshot_id=snapshot_id),
                                 files)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.close()
            for leftover in (temp, temp.with_name(temp.name + ".wal")):
                leftover.unlink(missing_ok=True)
            raise
        pruned = [p.with_suffix(snapshots.FILE_LIST_SUFFIX) for p in snapshots.prune(path)]
        # after a killed writer the whole lake is swept; otherwise only the pruned files
        lake.collect_garbage(path, pruned=None if crashed else pruned)


def record_source(con: duckdb.DuckDBPyConnection, record: SourceRecord) -> None:
    """Insert or replace the provenance row of one source."""
    con.execute("DELETE FROM sources WHERE source_id = $id", {"id": record.source_id})
    con.execute(
        """
        INSERT INTO sources VALUES ($source_id, $type, $path, $licence, $attribution, $sha256,
            $loaded_at, $data_as_of, $row_counts, $simulated, $modelled, $cadence, $issues, $notes,
            $options)
        """,
        {
            "source_id": record.source_id, "type": record.type, "path": record.path,
            "licence": record.licence, "attribution": record.attribution,
            "sha256": record.sha256, "loaded_at": now_utc(), "data_as_of": record.data_as_of,
            "row_counts": json.dumps(record.row_counts, sort_keys=True),
            "simulated": record.simulated, "modelled": record.modelled,
            "cadence": record.expected_cadence_days,
            "issues": json.dumps(record.issues), "notes": record.notes,
            "options": options_json(record.options),
        },
    )


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set one key of `store_meta`."""
    con.execute(
        "INSERT OR REPLACE INTO store_meta VALUES ($key, $value)", {"key": key, "value": value}
    )


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every base table of the store's main schema, sorted."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def read_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: dict[str, object] | None = None
) -> pl.DataFrame:
    """Run a query with bound `$name` parameters and return a Polars frame."""
    return con.sql(query, params=params or {}).pl()


def options_json(options: object) -> str:
    """Canonical JSON of a connector's options (None values left out)."""
    if not isinstance(options, dict):
        return "{}"
    kept = {k: v for k, v in sorted(options.items()) if v is not None}
    return json.dumps(kept, sort_keys=True, default=str)


def inputs_as_of(con: duckdb.DuckDBPyConnection, types: tuple[str, ...]) -> datetime:
    """What derived data is "as of": the newest data among its input sources' types."""
    row = con.execute("SELECT max(data_as_of) FROM sources WHERE type IN $types",
                      {"types": list(types)}).fetchall()[0]
    return row[0] or now_utc()
