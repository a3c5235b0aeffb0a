"""The output contract every definition's result meets, as named checks.

One row per `h3_cell` (and `period` when it returns one), an integer cell, finite numbers,
and for ratios `value = scale × numerator / denominator`; a share (unit `percent`) also
lies in [0, 100] with 0 ≤ numerator ≤ denominator. The engine refuses a result that fails
any check; the draft preview shows each check with its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from observatory.registry.loader import _display
from observatory.registry.spec import LoadedSpec

TOLERANCE = 1e-6
NUMBERS = ("value", "numerator", "denominator")


@dataclass(frozen=True)
class ContractCheck:
    """One check of a result: its name, whether it holds, and what is wrong (or fine)."""

    name: str
    ok: bool
    detail: str


def _pass(name: str, detail: str = "") -> ContractCheck:
    return ContractCheck(name, True, detail)


def _example(values: pl.Series) -> str:
    present = values.drop_nulls()
    return repr(present[0]) if present.len() else "NULL"


def required_columns(loaded: LoadedSpec) -> list[str]:
    """The columns a definition's query must return."""
    return ["h3_cell", "value"] + (["numerator", "denominator"]
                                   if loaded.spec.aggregation == "ratio" else [])


def missing_columns(columns: list[str], loaded: LoadedSpec, where: str) -> str | None:
    """What is wrong when a result of `columns` lacks a required one (None: nothing)."""
    if missing := sorted(set(required_columns(loaded)) - set(columns)):
        return (f"{where}: the query returns no column {', '.join(missing)} (it returns "
                f"{', '.join(columns) or 'nothing'}); name its output columns so.")
    return None


# DuckDB's type names of whole numbers, and of the other numbers a figure may be.
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                 "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", '"NULL"', "NULL"}
NUMBER_TYPES = INTEGER_TYPES | {"FLOAT", "DOUBLE", "BOOLEAN"}


def wrong_type(column: str, duckdb_type: str, where: str) -> str | None:
    """What is wrong with a result column of this DuckDB type (None: nothing): the cell
    is a whole number, the figures are numbers (the rule `_types` applies to results)."""
    if column == "h3_cell":
        if duckdb_type in INTEGER_TYPES:
            return None
        return (f"{where}: column h3_cell is {duckdb_type}; return the cell as BIGINT, as the "
                "store's tables hold it.")
    if duckdb_type in NUMBER_TYPES or duckdb_type.startswith("DECIMAL"):
        return None
    return (f"{where}: column {column} is {duckdb_type}, not a number; compute a number "
            "(CAST(… AS DOUBLE) where the text is one).")


def _columns(frame: pl.DataFrame, loaded: LoadedSpec, where: str) -> ContractCheck:
    problem = missing_columns(frame.columns, loaded, where)
    if problem:
        return ContractCheck("output columns", False, problem)
    return _pass("output columns", ", ".join(sorted(required_columns(loaded))))


def _types(frame: pl.DataFrame, where: str) -> ContractCheck:
    """Integer cells and finite numbers: text, infinity or NaN is never a result."""
    problems = []
    cell = frame["h3_cell"].dtype
    if not (cell.is_integer() or cell == pl.Null):
        problems.append(f"{where}: column h3_cell holds {cell} (e.g. "
                        f"{_example(frame['h3_cell'])}); return the cell as BIGINT, as the "
                        "store's tables hold it.")
    numbers = [c for c in NUMBERS if c in frame.columns]
    for column in numbers:
        kind = frame[column].dtype
        if not (kind.is_numeric() or kind in (pl.Boolean, pl.Null)):
            problems.append(f"{where}: column {column} holds {kind} (e.g. "
                            f"{_example(frame[column])}), not numbers; compute a number "
                            "(CAST(… AS DOUBLE) where the text is one).")
    if not problems:
        problems = _finite(frame, numbers, where)
    return ContractCheck("numbers", not problems, " ".join(problems))


def _finite(frame: pl.DataFrame, numbers: list[str], where: str) -> list[str]:
    problems = []
    for column in numbers:
        values = frame[column].cast(pl.Float64)
        broken = values.is_infinite() | values.is_nan()
        if broken.any():
            first = frame.filter(broken).row(0, named=True)
            problems.append(
                f"{where}: {int(broken.sum())} rows with an infinite or NaN {column} (first: "
                f"h3_cell {first['h3_cell']}, {column} {first[column]}); such a figure is "
                "never stored. Return NULL where there is none (e.g. divide by "
                "NULLIF(denominator, 0)).")
    return problems


def _one_row_per_cell(frame: pl.DataFrame, where: str) -> list[ContractCheck]:
    keys = ["h3_cell", "period"] if "period" in frame.columns else ["h3_cell"]
    checks = [ContractCheck(
        "one row per cell", not frame.select(keys).is_duplicated().any(),
        f"{where}: several rows for the same {' and '.join(keys)}; return one row per cell "
        "(GROUP BY h3_cell).")]
    checks.append(ContractCheck("every row has a cell", not frame["h3_cell"].null_count(),
                                f"{where}: rows with a NULL h3_cell; filter them out."))
    return checks


def _ratio(frame: pl.DataFrame, loaded: LoadedSpec, where: str) -> ContractCheck:
    spec = loaded.spec
    rows = frame.filter(pl.col("denominator") > 0)
    expected = pl.col("numerator") / pl.col("denominator") * spec.scale
    off = rows.filter((pl.col("value") - expected).abs() > TOLERANCE * (1 + expected.abs()))
    return ContractCheck(
        "value = numerator / denominator", not off.height,
        f"{where}: value differs from numerator / denominator × {spec.scale:g} in "
        f"{off.height} rows (unit `{spec.unit}`); compute value as that ratio so that rollups "
        "stay consistent.")


def _share(frame: pl.DataFrame, where: str) -> list[ContractCheck]:
    slack = TOLERANCE * (1 + pl.col("denominator").abs())
    over = frame.filter((pl.col("numerator") > pl.col("denominator") + slack)
                        | (pl.col("numerator") < -slack))
    outside = frame.filter((pl.col("value") < -TOLERANCE) | (pl.col("value") > 100 + TOLERANCE))
    return [
        ContractCheck("numerator ≤ denominator", not over.height,
                      f"{where}: {over.height} rows where the numerator is negative or above "
                      "the denominator; a share counts part of a whole (e.g. residents "
                      "within reach among all residents)."),
        ContractCheck("shares within [0, 100]", not outside.height,
                      f"{where}: {outside.height} rows with a share outside [0, 100] (first: "
                      f"{_example(outside['value'])}); check the numerator and denominator."),
    ]


def contract_checks(frame: pl.DataFrame, loaded: LoadedSpec) -> list[ContractCheck]:
    """Every check of the contract, in order; later checks are left out once the columns
    or their types fail (they could not be read)."""
    where = _display(loaded.path)
    checks = [_columns(frame, loaded, where)]
    if not checks[-1].ok:
        return checks
    checks.append(_types(frame, where))
    if not checks[-1].ok:
        return checks
    checks += _one_row_per_cell(frame, where)
    if loaded.spec.aggregation == "ratio":
        checks.append(_ratio(frame, loaded, where))
        if loaded.spec.unit == "percent":
            checks += _share(frame, where)
    return checks


def contract_problems(frame: pl.DataFrame, loaded: LoadedSpec) -> list[str]:
    """What breaks the contract, each with the definition's file; empty when it holds."""
    return [check.detail for check in contract_checks(frame, loaded) if not check.ok]
