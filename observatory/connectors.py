"""Connector extension point: every data source type registers itself here the same way.

A connector is found through the `observatory.connectors` entry-point group, so a
third-party package adds one by declaring an entry point, without touching this code.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import duckdb

from observatory.errors import InputError
from observatory.store import SourceRecord

ENTRY_POINT_GROUP = "observatory.connectors"


class Progress(Protocol):
    """Receives one line per step of a long operation."""

    def __call__(self, message: str) -> None: ...


def stderr_progress(prefix: str) -> Progress:
    """A progress callback that prints `[prefix] message (elapsed)` to stderr."""
    start = time.perf_counter()

    def report(message: str) -> None:
        print(f"[{prefix}] {message} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)

    return report


def silent_progress(message: str) -> None:
    """A progress callback that says nothing."""


@dataclass(frozen=True)
class Option:
    """One command-line option of a connector (`--name VALUE`)."""

    name: str
    help: str
    required: bool = False
    default: str | float | int | None = None
    kind: type = str
    choices: tuple[str, ...] | None = None


Options = Mapping[str, Any]
Ingest = Callable[[duckdb.DuckDBPyConnection, Path, Progress, Options], SourceRecord]


@dataclass(frozen=True)
class AppendOutcome:
    """What appending one file to an existing source did."""

    rows_added: int
    overlapping: int  # rows already loaded (same key), skipped
    tables: tuple[str, ...]  # the store tables that changed
    first_time: datetime | None  # the time span of the added rows
    last_time: datetime | None
    row_counts: dict[str, int]  # the source's new totals
    variables: tuple[str, ...] = ()
    issues: list[str] = field(default_factory=list)


# append(con, path, progress, options, source) where `source` is the source's row of the
# `sources` table (a dict, with `options` parsed): adds the file's new rows to that source.
Append = Callable[[duckdb.DuckDBPyConnection, Path, Progress, Options, dict[str, Any]],
                  AppendOutcome]


@dataclass(frozen=True)
class Connector:
    """One source type: how to load a file of it into the store."""

    name: str
    help: str
    ingest: Ingest
    tables: tuple[str, ...] = ()  # the store tables (datasets) it writes
    options: tuple[Option, ...] = ()
    takes_url: bool = False  # the source is a URL, not a file
    # The provenance id a file and options load as; same id = same source, replaced.
    source_id: Callable[[Path, Options], str] | None = None
    append: Append | None = None  # adds rows to an existing source (`ingest --append`)

    def source_id_for(self, path: Path, options: Options) -> str:
        """The source id this file and these options load as."""
        if self.source_id is not None:
            return self.source_id(path, options)
        stem = re.sub(r"[^a-z0-9]+", "_", path.name.split(".")[0].lower()).strip("_")
        return f"{self.name}:{stem or 'source'}"


def available_connectors() -> dict[str, Connector]:
    """Every connector registered under the entry-point group, by name."""
    found: dict[str, Connector] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        connector = point.load()
        if not isinstance(connector, Connector):
            raise TypeError(f"entry point {point.value} is not an observatory Connector")
        found[connector.name] = connector
    return found


def connector_named(name: str) -> Connector:
    """The connector registered as `name`, or an error listing those that exist."""
    connectors = available_connectors()
    if name not in connectors:
        known = ", ".join(sorted(connectors)) or "none"
        raise InputError(f"no connector named `{name}`; installed connectors: {known}.")
    return connectors[name]
