"""What every connector shares: reading delimited files with precise errors, replacing a
source's rows, and describing skipped rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import polars as pl

from observatory.errors import InputError, SourceFileError

LINE = "__line"  # 1-based line of each row in its file (the header is line 1)
_EXAMPLES = 5


def read_text_table(path: Path, *, name: str | None = None, data: bytes | None = None,
                    required: Sequence[str] = ()) -> pl.DataFrame:
    """A CSV as all-string columns plus its line numbers; missing columns are an error."""
    label = name or str(path)
    try:
        frame = pl.read_csv(data if data is not None else path, infer_schema=False,
                            truncate_ragged_lines=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise SourceFileError(f"{label}: cannot be read as CSV ({detail}). Check that it is "
                              "comma-separated UTF-8 text with a header row.") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    if missing := [c for c in required if c not in frame.columns]:
        raise SourceFileError(
            f"{label} line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header has {', '.join(frame.columns)}). "
            "Rename the columns or give the right file.")
    return frame.with_columns(
        pl.col(pl.String).str.strip_chars(),
    ).with_row_index(LINE, offset=2)


def describe_rows(label: str, rows: pl.DataFrame, what: str, *, column: str | None = None,
                  action: str = "skipped", noun: str = "row") -> str | None:
    """`file: N rows <what> (line a, b, …; column values …); skipped.`, or None if no rows.

    `what` reads after "N rows", e.g. "with a malformed time" or "whose stop is missing".
    """
    if rows.height == 0:
        return None
    lines = ", ".join(str(v) for v in rows[LINE].head(_EXAMPLES).to_list())
    more = ", …" if rows.height > _EXAMPLES else ""
    values = ""
    if column is not None and column in rows.columns:
        sample = rows[column].cast(pl.String).head(_EXAMPLES).to_list()
        values = f"; {column} {', '.join(repr(v) for v in sample)}{more}"
    noun = noun if rows.height == 1 else f"{noun}s"
    return f"{label}: {rows.height} {noun} {what} (line {lines}{more}{values}); {action}."



def ensure_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    """Create `table` with the frame's columns when it does not exist yet."""
    con.register("_shape", frame.head(0).to_arrow())
    con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM _shape")
    con.unregister("_shape")


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *,
                 key: str, value: str) -> None:
    """Replace the rows of one source (`key` = `value`) in `table` by the frame's rows."""
    ensure_table(con, table, frame)
    con.execute(f"DELETE FROM {table} WHERE {key} = $value", {"value": value})
    con.register("_rows", frame.to_arrow())
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def slug(text: str) -> str:
    """A lowercase identifier made of letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "source"


def impossible_coordinates(lat: pl.Expr, lon: pl.Expr) -> pl.Expr:
    """Unparseable, out of range, or the null island (0, 0)."""
    return (lat.is_null() | lon.is_null() | (lat.abs() > 90) | (lon.abs() > 180)
            | ((lat == 0) & (lon == 0)))


def far_from_median(lat: pl.Expr, lon: pl.Expr, *, km: float) -> pl.Expr:
    """Farther than `km` (equirectangular approximation) from the median point."""
    dy = (lat - lat.median()) * 111.2
    dx = (lon - lon.median()) * 111.2 * (lat.median() * 3.141592653589793 / 180).cos()
    return (dx * dx + dy * dy).sqrt() > km


AREA_MARGIN_DEG = 0.05  # about 5 km around the loaded study area


def study_area_bounds(con: duckdb.DuckDBPyConnection) -> tuple[float, ...] | None:
    """(south, north, west, east) of the study area's cells, or None before any OSM load."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'study_cells'").fetchall()[0][0]
    if not exists:
        return None
    row = con.execute("SELECT min(lat), max(lat), min(lon), max(lon) FROM study_cells"
                      ).fetchall()[0]
    return None if row[0] is None else tuple(float(v) for v in row)


def outside_area(bounds: tuple[float, ...] | None, lat: pl.Expr, lon: pl.Expr) -> pl.Expr:
    """Farther than AREA_MARGIN_DEG outside the study area's bounds (False without bounds)."""
    if bounds is None:
        return pl.lit(False)
    south, north, west, east = bounds
    m = AREA_MARGIN_DEG
    return (lat < south - m) | (lat > north + m) | (lon < west - m) | (lon > east + m)


def parse_stamp(text: str) -> dt.datetime | None:
    """An ISO 8601 time stamp as an aware datetime (UTC when it has no offset), or None."""
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def table_name(options: Mapping[str, object], default: str) -> str:
    """The store table a portal dataset goes to: `--table` or the default, checked."""
    name = str(options.get("table") or default)
    if not _IDENTIFIER.match(name):
        raise InputError(f"--table `{name}`: use lowercase letters, digits and underscores.")
    if not name.startswith("portal_"):
        raise InputError(f"--table `{name}`: portal tables start with `portal_` so that they "
                         "never replace the store's own tables.")
    return name
