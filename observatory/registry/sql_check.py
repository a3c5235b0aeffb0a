"""Validation that sees the SQL: every definition's query is checked against the store's
schema, in the sandbox, without computing it.

One statement, read-only, that binds (described on the current snapshot, with the
definition's parameters, never run), returning the contract's columns with usable types: a syntax
error, a wrong column or a forbidden statement is reported with the SQL file's line
before any build.
"""

from __future__ import annotations

from pathlib import Path

from observatory.registry.contract import missing_columns, required_columns, wrong_type
from observatory.registry.loader import Registry, _display
from observatory.registry.spec import LoadedSpec
from observatory.sandbox import Sandbox, SandboxError


def check_query(sandbox: Sandbox, loaded: LoadedSpec) -> list[str]:
    """The problems of one definition's SQL (none for a `python:` definition), found by
    binding it in the sandbox: nothing runs. The columns and their types follow the
    output contract the engine applies to results (observatory/registry/contract.py)."""
    if loaded.query is None:
        return []
    where = _display(loaded.path.parent / str(loaded.spec.sql))
    try:
        schema = sandbox.describe(loaded.query, params=dict(loaded.spec.parameters),
                                  where=where)
    except SandboxError as exc:
        return [str(exc)]
    problems = [p for p in [missing_columns(list(schema), loaded, where)] if p]
    problems += [p for c in required_columns(loaded) if c in schema
                 if (p := wrong_type(c, schema[c], where))]
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
