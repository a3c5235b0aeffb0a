"""The store's data lake: append-only, checksummed Parquet files that snapshots read in place.

High-volume raw data (sensor readings and their hourly aggregates) does not live inside
the snapshot file, which every write copies; it lives in `<store>.d/lake/<table>/
source=<id>/month=<YYYY-MM>/<sha256>.parquet`. A file is written once (to a temporary name,
fsynced, renamed) and never changed. Each snapshot lists the files it reads in its
`lake_files` table and exposes every lake table as a view over exactly those files, so a
file written by an append becomes visible only with the snapshot that lists it, and older
snapshots keep reading theirs. Paths are relative to the lake; connections resolve them
through DuckDB's `file_search_path` (observatory/store.py sets it). Files that no kept
snapshot lists (left by a killed append, or by snapshots since pruned) are deleted by
`collect_garbage`, which the store runs under its writer lock after every publish.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from observatory import snapshots

# The lake tables and their columns (the views' schema, also when no file exists yet).
LAKE_TABLES: dict[str, dict[str, str]] = {
    "sensor_values": {"series_id": "BIGINT", "time": "TIMESTAMPTZ", "value": "DOUBLE",
                      "flag": "VARCHAR", "h3_cell": "BIGINT"},
    "sensor_readings_hourly": {"series_id": "BIGINT", "hour": "TIMESTAMPTZ", "mean": "DOUBLE",
                               "min": "DOUBLE", "max": "DOUBLE", "n": "INTEGER"},
    # per series and UTC day, from the hourly rows: how many hours, the sum of their means,
    # the sum of mean × readings, the readings and the highest hourly maximum
    "sensor_readings_daily": {"series_id": "BIGINT", "day": "DATE", "hours": "INTEGER",
                              "mean_sum": "DOUBLE", "weighted_sum": "DOUBLE", "n": "BIGINT",
                              "max": "DOUBLE"},
}
# The time column of each lake table: what partitions it by month.
TIME_COLUMNS = {"sensor_values": "time", "sensor_readings_hourly": "hour",
                "sensor_readings_daily": "day"}
MANIFEST_SQL = """
CREATE TABLE IF NOT EXISTS lake_files (
    table_name VARCHAR NOT NULL, source_id VARCHAR NOT NULL, month VARCHAR NOT NULL,
    path VARCHAR NOT NULL, rows BIGINT NOT NULL, sha256 VARCHAR NOT NULL,
    added_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class LakeFile:
    """One immutable Parquet file of the lake."""

    table: str
    source_id: str
    month: str
    path: str  # relative to the lake root
    rows: int
    sha256: str


def lake_root(con: duckdb.DuckDBPyConnection) -> Path:
    """The lake folder of the store `con` belongs to (from its `file_search_path`)."""
    setting = con.execute("SELECT current_setting('file_search_path')").fetchall()[0][0]
    if setting:
        return Path(str(setting).split(",")[0])
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                       "current_database()").fetchall()[0][0]
    if path:  # a store file opened by hand: its lake is beside the store it belongs to
        file = Path(str(path))
        folder = (file.parent.parent if file.parent.name == "snapshots"
                  else snapshots.store_dir(file)) / "lake"
        con.execute(f"SET file_search_path = '{folder}'")
        return folder
    # an in-memory store (tests, scratch work) gets a lake of its own for its lifetime
    folder = tempfile.mkdtemp(prefix="observatory-lake-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    con.execute(f"SET file_search_path = '{folder}'")
    return Path(folder)


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def _epoch(times: pl.Series) -> tuple[np.ndarray, str]:
    unit = "D" if times.dtype == pl.Date else "us"
    return (times.cast(pl.Int32) if unit == "D" else times.dt.epoch("us")).to_numpy(), unit


def month_numbers(times: pl.Series) -> np.ndarray:
    """Each value's UTC month as months since January 1970, found by a binary search over
    the starts of the months the values span (far cheaper than civil dates per row)."""
    epoch, unit = _epoch(times)
    first = np.datetime64(int(epoch.min()), unit).astype("datetime64[M]")
    last = np.datetime64(int(epoch.max()), unit).astype("datetime64[M]")
    starts = np.arange(first, last + 1).astype(f"datetime64[{unit}]").astype(np.int64)
    found = np.searchsorted(starts, epoch, side="right") - 1
    return (found + first.astype(np.int64)).astype(np.int32)


def month_label(number: int) -> str:
    """`YYYY-MM` of a month counted from January 1970."""
    return f"{1970 + number // 12:04d}-{number % 12 + 1:02d}"


def in_order(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether `frame` is sorted by the two columns `keys` (ties in any order)."""
    first, second = (pl.col(key) for key in keys)
    ahead = (first > first.shift(1)) | ((first == first.shift(1)) & (second >= second.shift(1)))
    return bool(frame.select(ahead.fill_null(True).all()).item())


def _month_blocks(times: pl.Series) -> list[tuple[int, int, int]] | None:
    """The (month, start, stop) rows of each month when the months already come in order
    (as the connector writes its readings), found by a binary search per month and checked
    with one min and one max per month; None when they do not."""
    epoch, unit = _epoch(times)
    first = np.datetime64(int(epoch[0]), unit).astype("datetime64[M]")
    last = np.datetime64(int(epoch[-1]), unit).astype("datetime64[M]")
    if last < first:
        return None
    starts = np.arange(first, last + 2).astype(f"datetime64[{unit}]").astype(np.int64)
    blocks, start = [], 0
    for index in range(len(starts) - 1):
        low, high = start, len(epoch)  # the first row of a later month: epoch >= next start
        while low < high:
            middle = (low + high) // 2
            if epoch[middle] >= starts[index + 1]:
                high = middle
            else:
                low = middle + 1
        if low > start:
            part = epoch[start:low]
            if part.min() < starts[index] or part.max() >= starts[index + 1]:
                return None
            blocks.append((int(first.astype(np.int64)) + index, start, low))
        start = low
    return blocks if start == len(epoch) else None


def _by_month(frame: pl.DataFrame, column: str) -> tuple[pl.DataFrame, list[tuple[int, int, int]]]:
    """`frame` with its months contiguous (reordered only if they are not) and the
    (month, start, stop) rows of each month."""
    if (blocks := _month_blocks(frame[column])) is not None:
        return frame, blocks
    months = month_numbers(frame[column])
    if (np.diff(months) < 0).any():
        relative = months - months.min()
        small = relative.astype(np.uint16) if relative.max() < 2**16 else relative
        order = np.argsort(small, kind="stable")  # a radix sort on 16 bits
        frame, months = frame[order], months[order]
    cuts = (np.flatnonzero(np.diff(months)) + 1).tolist()
    return frame, [(int(months[start]), start, stop)
                   for start, stop in zip([0, *cuts], [*cuts, len(months)], strict=True)]


def write_files(con: duckdb.DuckDBPyConnection, table: str, source_id: str,
                frame: pl.DataFrame) -> list[LakeFile]:
    """Write `frame` (rows of one source) as one new file per month, each sorted by series
    and time; returns the files. A frame already in that order (as the connector writes
    its readings) is written from slices, without a copy."""
    if frame.is_empty():
        return []
    root, column = lake_root(con), TIME_COLUMNS[table]
    columns = list(LAKE_TABLES[table])
    with ThreadPoolExecutor(1) as disk:  # a month is written and fsynced as the next encodes
        return _write_months(root, table, source_id, frame.select(columns), column, disk)


def _write_months(root: Path, table: str, source_id: str, frame: pl.DataFrame, column: str,
                  disk: ThreadPoolExecutor) -> list[LakeFile]:
    columns = frame.columns
    frame, months = _by_month(frame, column)
    files, writes = [], []
    for number, start, stop in months:
        part = frame.slice(start, stop - start)
        if not in_order(part, columns[:2]):
            part = part.sort(columns[:2])
        buffer = io.BytesIO()
        part.write_parquet(buffer, compression="zstd", statistics=True)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        month = month_label(number)
        relative = f"{table}/source={_safe(source_id)}/month={month}/{digest[:32]}.parquet"
        writes.append(disk.submit(_write_once, root / relative, data))
        files.append(LakeFile(table, source_id, month, relative, part.height, digest))
    for write in writes:
        write.result()
    return files


def _write_once(target: Path, data: bytes) -> None:
    """Write `data` to `target` atomically (temporary name, fsync, rename)."""
    if target.exists():  # content-addressed: the same bytes are already there
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp")
    with temp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)


def ensure_manifest(con: duckdb.DuckDBPyConnection) -> None:
    """Create the snapshot's list of lake files if it is missing."""
    con.execute(MANIFEST_SQL)


def replace_files(con: duckdb.DuckDBPyConnection, table: str, source_id: str,
                  files: Iterable[LakeFile], *, months: Iterable[str] | None = None) -> None:
    """Make `files` the source's files of `table` (of the given months, or of all months),
    then refresh the table's view."""
    params: dict[str, object] = {"t": table, "s": source_id}
    where = "table_name = $t AND source_id = $s"
    if months is not None:
        where += " AND month IN (SELECT unnest($m))"
        params["m"] = sorted(set(months))
    con.execute(f"DELETE FROM lake_files WHERE {where}", params)
    rows = [(f.table, f.source_id, f.month, f.path, f.rows, f.sha256) for f in files]
    if rows:
        con.executemany("INSERT INTO lake_files (table_name, source_id, month, path, rows, "
                        "sha256) VALUES (?, ?, ?, ?, ?, ?)", rows)
    refresh_view(con, table)


def drop_source(con: duckdb.DuckDBPyConnection, source_id: str) -> None:
    """Forget every lake file of one source (before it is loaded again)."""
    tables = [r[0] for r in con.execute("SELECT DISTINCT table_name FROM lake_files "
                                        "WHERE source_id = $s", {"s": source_id}).fetchall()]
    con.execute("DELETE FROM lake_files WHERE source_id = $s", {"s": source_id})
    for table in tables:
        refresh_view(con, table)


def paths(con: duckdb.DuckDBPyConnection, table: str, *, source_id: str | None = None,
          months: Iterable[str] | None = None) -> list[str]:
    """The files of `table` the snapshot reads (of one source and some months if given)."""
    rows = con.execute(
        "SELECT path FROM lake_files WHERE table_name = $t "
        "AND ($s IS NULL OR source_id = $s) "
        "AND ($all OR month IN (SELECT unnest($m))) ORDER BY month, path",
        {"t": table, "s": source_id, "all": months is None,
         "m": sorted(set(months or []))}).fetchall()
    return [r[0] for r in rows]


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def refresh_view(con: duckdb.DuckDBPyConnection, table: str, *, root: Path | None = None,
                 temporary: bool = False, where: str | None = None,
                 months: Iterable[str] | None = None) -> None:
    """(Re)create the view of one lake table over exactly the files the snapshot lists;
    with `root`, over their absolute paths, and as a temporary view with `temporary` (the
    SQL sandbox, observatory/sandbox.py, reads only absolute paths in its lake); `where`
    keeps only the rows that meet an SQL condition (a build's window of periods), and
    `months` only the files of those months."""
    columns = LAKE_TABLES[table]
    files = paths(con, table, months=months)
    if root is not None:
        files = [str(root / f) for f in files]
    select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())
    if files:
        source = f"read_parquet({_sql_list(files)}, hive_partitioning = false)"
        body = f"SELECT {select} FROM {source}"
        body = f"SELECT * FROM ({body}) WHERE {where}" if where else body
    else:
        nulls = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in columns.items())
        body = f"SELECT {nulls} WHERE false"
    kind = "TEMP VIEW" if temporary else "VIEW"
    con.execute(f"CREATE OR REPLACE {kind} {table} AS {body}")


def read(con: duckdb.DuckDBPyConnection, table: str, *, source_id: str,
         months: Iterable[str], columns: list[str] | None = None) -> pl.DataFrame:
    """The rows of one source's files of `table` for some months, as a Polars frame."""
    root, files = lake_root(con), paths(con, table, source_id=source_id, months=months)
    wanted = columns or list(LAKE_TABLES[table])
    if not files:
        return pl.DataFrame(schema={c: _POLARS[LAKE_TABLES[table][c]] for c in wanted})
    return pl.read_parquet([str(root / f) for f in files], columns=wanted)


def scan(con: duckdb.DuckDBPyConnection, table: str, *, source_id: str,
         months: Iterable[str]) -> pl.LazyFrame:
    """The rows of one source's files of `table` for some months, lazily (filters on it are
    pushed down to the Parquet row groups)."""
    root, files = lake_root(con), paths(con, table, source_id=source_id, months=months)
    if not files:
        return pl.LazyFrame(schema={c: _POLARS[t] for c, t in LAKE_TABLES[table].items()})
    return pl.scan_parquet([str(root / f) for f in files])


_POLARS: dict[str, pl.DataType] = {
    "BIGINT": pl.Int64(), "TIMESTAMPTZ": pl.Datetime("us", "UTC"), "DOUBLE": pl.Float64(),
    "VARCHAR": pl.String(), "INTEGER": pl.Int32(), "DATE": pl.Date(),
}


def listed_paths(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The lake files the snapshot of `con` lists."""
    return [r[0] for r in con.execute("SELECT path FROM lake_files ORDER BY 1").fetchall()]


def write_file_list(snapshot: Path, files: list[str]) -> None:
    """Keep the snapshot's list of lake files beside it, so that garbage collection need
    not open every kept snapshot."""
    side = snapshot.with_suffix(snapshots.FILE_LIST_SUFFIX)
    temp = side.with_name(f".{side.name}.tmp")
    temp.write_text("".join(f"{f}\n" for f in files), encoding="utf-8")
    os.replace(temp, side)


def referenced_paths(store: Path) -> set[str]:
    """Every lake file some kept snapshot of `store` lists."""
    referenced: set[str] = set()
    for snapshot in snapshots.list_snapshots(store):
        side = snapshot.path.with_suffix(snapshots.FILE_LIST_SUFFIX)
        if side.exists():
            referenced.update(side.read_text(encoding="utf-8").split())
            continue
        con = duckdb.connect(str(snapshot.path), read_only=True,
                             config=snapshots.connection_config(store))
        try:
            has = con.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_name = 'lake_files'").fetchall()[0][0]
            if has:
                referenced.update(r[0] for r in con.execute("SELECT path FROM lake_files")
                                  .fetchall())
        finally:
            con.close()
    return referenced


def collect_garbage(store: Path, *, pruned: list[Path] | None = None) -> list[Path]:
    """Delete lake files that no kept snapshot lists; call with the store's writer lock
    held. With `pruned` (the file lists of the snapshots just deleted), only their files
    are candidates; without it the whole lake is swept (after a killed writer, whose
    files no snapshot lists)."""
    root = snapshots.store_dir(store) / "lake"
    if not root.is_dir():
        return []
    keep = referenced_paths(store)
    if pruned is None:
        candidates = [f for f in root.rglob("*") if f.is_file()]
    else:
        named = {name for side in pruned if side.exists()
                 for name in side.read_text(encoding="utf-8").split()}
        candidates = [root / name for name in named]
    removed = []
    for file in candidates:
        if str(file.relative_to(root)) not in keep and file.exists():
            file.unlink(missing_ok=True)
            removed.append(file)
    for side in pruned or []:
        side.unlink(missing_ok=True)
    return removed


def add_file(con: duckdb.DuckDBPyConnection, file: LakeFile) -> None:
    """List one more file in the snapshot (its view is refreshed by `refresh_view`)."""
    con.execute("INSERT INTO lake_files (table_name, source_id, month, path, rows, sha256) "
                "VALUES ($t, $s, $m, $p, $r, $h)",
                {"t": file.table, "s": file.source_id, "m": file.month, "p": file.path,
                 "r": file.rows, "h": file.sha256})
    refresh_view(con, file.table)


def row_counts(con: duckdb.DuckDBPyConnection, source_id: str) -> dict[str, int]:
    """Rows per lake table of one source, from the manifest."""
    ensure_manifest(con)
    return {str(t): int(n) for t, n in con.execute(
        "SELECT table_name, sum(rows) FROM lake_files WHERE source_id = $s GROUP BY 1",
        {"s": source_id}).fetchall()}
