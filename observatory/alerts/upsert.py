"""Episodes as alert rows: rule attributes, place and rendered message (DuckDB and Polars).

observatory/alerts/merge.py writes them into the operational database."""

from __future__ import annotations

import re
import string

import duckdb
import polars as pl

from observatory.alerts.conditions import Compiled
from observatory.alerts.places import PlaceBook

SYSTEM = "system"
_SCHEMA = {
    "rule": pl.String,
    "kind": pl.String,
    "severity": pl.String,
    "owner_team": pl.String,
    "theme": pl.String,
    "indicator": pl.String,
    "variable": pl.String,
    "place_kind": pl.String,
    "place_id": pl.String,
    "place_label": pl.String,
    "h3_cell": pl.Int64,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "started_at": pl.Datetime("us", "UTC"),
    "fired_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "value": pl.Float64,
    "peak": pl.Float64,
    "threshold": pl.Float64,
    "unit": pl.String,
    "slots": pl.Int64,
    "message": pl.String,
}


_COLUMN_OF = {
    "place": "place_label",
    "value": "value",
    "peak": "peak",
    "threshold": "threshold",
    "started_at": "started_at",
    "ended_at": "ended_at",
    "rule": "rule",
    "label": "label",
    "unit": "unit",
    "indicator": "indicator",
    "variable": "variable",
    "severity": "severity",
    "owner": "owner_team",
}
_SIMPLE_SPEC = re.compile(r"^(\.\d+)?[fd]?$")


def _python_messages(template: str, part: pl.DataFrame) -> list[str]:
    names = list(_COLUMN_OF)
    out = []
    for values in zip(*(part[_COLUMN_OF[n]].to_list() for n in names), strict=True):
        fields = dict(zip(names, values, strict=True))
        try:
            out.append(template.format(**fields))
        except (ValueError, TypeError, KeyError):  # e.g. a number format on a missing value
            out.append(
                f"{fields['label']} at {fields['place']}: {fields['value']} {fields['unit'] or ''}"
            )
    return out


def _sql_template(template: str) -> tuple[str, list[str]] | None:
    """The template in DuckDB's `format` syntax (positional) and its columns, when every
    field is a plain text or a number with a simple format; None otherwise."""
    pieces, columns = [], []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        pieces.append(literal.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        if conversion or name in ("started_at", "ended_at") or not _SIMPLE_SPEC.match(spec):
            return None
        if spec.endswith("d"):  # integers: round first, as Python would refuse floats
            return None
        pieces.append("{" + (":" + spec if spec else "") + "}")
        columns.append(_COLUMN_OF[name])
    return "".join(pieces), columns


def render_messages(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.Series:
    """Each row's rule template rendered: one DuckDB `format` per distinct template where
    it can, Python's str.format otherwise (and for rows with a missing value)."""
    indexed = frame.with_row_index("_row")
    messages: list[str | None] = [None] * frame.height
    for (template,), part in indexed.partition_by("template", as_dict=True).items():
        rows = part["_row"].to_list()
        sql = _sql_template(str(template))
        rendered: list[str | None] = [None] * part.height
        if sql is not None:
            fmt, columns = sql
            args = "".join(f", c{i}" for i in range(len(columns)))
            con.register(
                "_alert_msg",
                part.select(pl.col(c).alias(f"c{i}") for i, c in enumerate(columns)).to_arrow(),
            )
            try:
                rendered = [
                    r[0]
                    for r in con.execute(
                        f"SELECT format($fmt{args}) FROM _alert_msg", {"fmt": fmt}
                    ).fetchall()
                ]
            finally:
                con.unregister("_alert_msg")
        missing = [i for i, text in enumerate(rendered) if text is None]
        if missing:
            fallback = _python_messages(str(template), part[missing])
            for i, text in zip(missing, fallback, strict=True):
                rendered[i] = text
        for row, text in zip(rows, rendered, strict=True):
            messages[row] = text
    return pl.Series("message", messages, dtype=pl.String)


def _place_frame(pairs: pl.DataFrame, book: PlaceBook) -> pl.DataFrame:
    """Place attributes of each distinct (place_kind of the rule, place)."""
    rows = []
    for kind, place in pairs.iter_rows():
        where = book.place(kind, place)
        rows.append(
            {
                "rule_place_kind": kind,
                "place": place,
                "place_kind": where.kind,
                "place_id": where.id,
                "place_label": where.label,
                "h3_cell": where.h3_cell,
                "lat": where.lat,
                "lon": where.lon,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "rule_place_kind": pl.String,
            "place": pl.Int64,
            "place_kind": pl.String,
            "place_id": pl.String,
            "place_label": pl.String,
            "h3_cell": pl.Int64,
            "lat": pl.Float64,
            "lon": pl.Float64,
        },
    )


def describe_episodes(
    con: duckdb.DuckDBPyConnection, episodes: pl.DataFrame, items: list[Compiled], book: PlaceBook
) -> pl.DataFrame:
    """Episodes as alert rows: rule attributes, place, rendered message."""
    if episodes.is_empty():
        return pl.DataFrame(schema=_SCHEMA)
    rules = pl.DataFrame(
        [
            {
                "rule_id": i.rule_id,
                "rule": i.rule.name,
                "kind": i.rule.kind,
                "severity": i.rule.severity,
                "owner_team": i.rule.owner,
                "theme": i.theme,
                "indicator": i.rule.indicator,
                "variable": i.rule.variable,
                "unit": i.unit,
                "rule_place_kind": i.place_kind,
                "label": i.rule.title,
                "template": i.rule.message,
            }
            for i in items
        ],
        schema_overrides={
            "rule_id": episodes.schema["rule_id"],
            "indicator": pl.String,
            "variable": pl.String,
        },
    )
    frame = episodes.with_columns(pl.col("place").cast(pl.Int64)).join(rules, on="rule_id")
    places = _place_frame(frame.select("rule_place_kind", "place").unique(), book)
    frame = frame.join(places, on=["rule_place_kind", "place"])
    frame = frame.with_columns(render_messages(con, frame))
    return frame.select([pl.col(name).cast(dtype) for name, dtype in _SCHEMA.items()])
