"""What every connector shares: reading delimited and JSON files with precise errors (the
file, the line, how to fix), replacing a source's rows, and describing skipped rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from observatory.errors import InputError, SourceFileError

LINE = "__line"  # 1-based line of each row in its file (the header is line 1)
_EXAMPLES = 5


def read_text_table(path: Path, *, name: str | None = None, data: bytes | None = None,
                    required: Sequence[str] = (), rows_required: bool = False) -> pl.DataFrame:
    """A CSV as all-string columns plus its line numbers; missing columns are an error, and
    so is a header without rows when `rows_required`."""
    label = name or str(path)
    if _starts_like_zip(data if data is not None else path):  # Polars would read bytes
        source = data if data is not None else path
        raise SourceFileError(f"{label}: {zip_damage(source) or 'is a zip archive'}, not CSV "
                              "text; unzip it (or download it again) and give the CSV file "
                              "inside.")
    try:
        frame = pl.read_csv(data if data is not None else path, infer_schema=False,
                            truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        raise SourceFileError(_csv_problem(label, data if data is not None else path, exc)
                              ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        detail = str(exc).splitlines()[0]
        raise SourceFileError(f"{label}: cannot be read as CSV ({detail}). Check that it is "
                              "comma-separated UTF-8 text with a header row.") from exc
    frame = frame.rename({c: c.strip() for c in frame.columns})
    if missing := [c for c in required if c not in frame.columns]:
        raise SourceFileError(
            f"{label} line 1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (the header has {', '.join(frame.columns)}). "
            "Rename the columns or give the right file.")
    if rows_required and frame.height == 0:
        raise SourceFileError(f"{label}: has a header line but no rows of data; nothing to "
                              "load. Give the complete file (was the export cut short?).")
    return frame.with_columns(
        pl.col(pl.String).str.strip_chars(),
    ).with_row_index(LINE, offset=2)


_CSV_FIX = "Check that it is comma-separated UTF-8 text with a header row."


def _csv_problem(label: str, source: Path | bytes, exc: Exception) -> str:
    """What is wrong with a CSV that Polars refused, with its line where one can be found
    (Polars names none): not UTF-8, a row with more fields than the header, a zip, empty."""
    raw = source if isinstance(source, bytes) else _read_bytes(source)
    if raw is not None:
        if not raw.strip():
            return f"{label}: is empty; give a CSV file with a header row and data rows."
        if problem := utf8_problem(raw):
            return f"{label} {problem}"
        if ragged := _ragged_row(raw.decode("utf-8-sig")):
            line, fields, width = ragged
            return (f"{label} line {line}: {fields} fields where the header has {width}. "
                    "Quote values that contain the delimiter (\"a, b\") or remove the extra "
                    "fields.")
    detail = str(exc).splitlines()[0]
    return f"{label}: cannot be read as CSV ({detail}). {_CSV_FIX}"


def _starts_like_zip(source: Path | bytes) -> bool:
    if isinstance(source, bytes):
        return source.startswith(_ZIP_MAGIC)
    try:
        with source.open("rb") as handle:
            return handle.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC
    except OSError:
        return False


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _ragged_row(text: str) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row longer than the header, or None."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        width = len(next(reader))
        for row in reader:
            if len(row) > width:
                return reader.line_num, len(row), width
    except (StopIteration, csv.Error):
        return None
    return None


def utf8_problem(raw: bytes) -> str | None:
    """`line N: not UTF-8 text (…)` with how to fix, or None when `raw` is UTF-8."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return (f"line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02X} at column "
                f"{column}; the file is probably Latin-1 or Windows-1252). Save it as UTF-8, "
                "e.g. `iconv -f latin1 -t utf-8 IN > OUT`.")
    return None


MAX_JSON_DEPTH = 200  # nesting reported as too deep (Python's parser stops near 1,000)


def read_json_file(path: Path, *, fix: str) -> Any:
    """A JSON file's content, or SourceFileError naming the file, the line and `fix`:
    not UTF-8, not JSON, or nested deeper than the parser can follow."""
    raw = path.read_bytes()
    if problem := utf8_problem(raw):
        raise SourceFileError(f"{path} {problem}")
    text = raw.decode("utf-8-sig")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceFileError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}). {fix}"
                              ) from exc
    except RecursionError:
        raise SourceFileError(f"{path} {too_deep(text)}. {fix}") from None


def too_deep(text: str) -> str:
    """`line N: JSON nested more than … levels deep`, the line where it passes MAX_JSON_DEPTH."""
    depth, line, in_string, escaped = 0, 1, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                break
        elif char in "]}":
            depth -= 1
        if char == "\n":
            line += 1
    return f"line {line}: JSON nested more than {MAX_JSON_DEPTH} levels deep"


_ZIP_MAGIC = b"PK\x03\x04"


def zip_damage(source: Path | bytes) -> str | None:
    """`is a truncated or corrupt zip archive (…)` when the file starts like a zip archive
    but cannot be read as one; None otherwise (not a zip at all, or a readable one)."""
    raw = source if isinstance(source, bytes) else _read_bytes(source)
    if raw is None or not raw.startswith(_ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile:
        return ("is a truncated or corrupt zip archive (it starts as one, but its table of "
                "contents at the end is missing or damaged: was the download cut short?)")
    except (OSError, EOFError, ValueError) as exc:
        return f"is a truncated or corrupt zip archive ({exc})"
    if bad is not None:
        return f"is a corrupt zip archive ({bad} fails its checksum)"
    return None


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
