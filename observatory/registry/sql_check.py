"""Validation that sees the SQL: every definition's query is checked against the store's
schema, in the sandbox, without computing it.

One statement, read-only, that binds (`LIMIT 0` on the current snapshot, with the
definition's parameters), returning the contract's columns with usable types: a syntax
error, a wrong column or a forbidden statement is reported with the SQL file's line
before any build.
"""

from __future__ import annotations

from pathlib import Path

from observatory.registry.loader import Registry, _display
from observatory.registry.spec import LoadedSpec
from observatory.sandbox import Sandbox, SandboxError


def _contract(loaded: LoadedSpec) -> list[str]:
    needed = ["h3_cell", "value"]
    return needed + (["numerator", "denominator"] if loaded.spec.aggregation == "ratio" else [])


_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "BOOLEAN", '"NULL"', "NULL"}


def _numeric(kind: str) -> bool:
    return kind in _NUMERIC or kind.startswith("DECIMAL")


def check_query(sandbox: Sandbox, loaded: LoadedSpec) -> list[str]:
    """The problems of one definition's SQL (none for a `python:` definition), found by
    binding it in the sandbox: nothing runs."""
    if loaded.query is None:
        return []
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    try:
        schema = sandbox.describe(loaded.query, params=dict(loaded.spec.parameters),
                                  where=where)
    except SandboxError as exc:
        return [str(exc)]
    problems = []
    if missing := [c for c in _contract(loaded) if c not in schema]:
        problems.append(f"{where}: the query returns no column {', '.join(missing)} (it "
                        f"returns {', '.join(schema) or 'nothing'}); name its output "
                        "columns so.")
    for column in (c for c in _contract(loaded) if c in schema):
        if not _numeric(schema[column]):
            problems.append(f"{where}: column {column} is {schema[column]}, not a number; "
                            "cast it (h3_cell is a BIGINT cell id, the others numbers).")
    return problems


def present_tables(sandbox: Sandbox) -> set[str]:
    """The tables and views of the snapshot."""
    frame = sandbox.query("SELECT table_name FROM information_schema.tables WHERE "
                          "table_catalog = 'store' AND table_schema = 'main'",
                          max_rows=100_000).frame
    return set(frame["table_name"].to_list())


def check_queries(sandbox: Sandbox, registry: Registry) -> tuple[dict[Path, list[str]], int]:
    """Every valid definition's SQL problems, by definition file, and how many were not
    checked because their inputs are not loaded (they wait for data, as in a build)."""
    present = present_tables(sandbox)
    found, waiting = {}, 0
    for loaded in registry.specs.values():
        if not set(loaded.spec.inputs) <= present:
            waiting += 1
            continue
        if problems := check_query(sandbox, loaded):
            found[loaded.path] = problems
    return found, waiting
