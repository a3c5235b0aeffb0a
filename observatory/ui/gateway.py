"""The one way pages reach the stores: `fetch(view, *args, **params)`.

A view is a function of `observatory.views` (or `observatory.publish`, for the open-data
files): `view(con, registry, *args, role: Role, **params)`, where views whose answer
does not depend on the indicators or on who asks leave out `registry` or `role`. The
gateway supplies a read cursor on the current snapshot, the indicator registry and the
role of the page shown (established on the server from the verified identity,
observatory/ui/auth.py); pages and widgets never pass a role themselves, and the role is
in every cache key whether the view takes it or not.

- One cache for everything: `st.cache_resource`, keyed on the snapshot file, the
  registry's fingerprint, the view's qualified name, its arguments and the role, so data
  filtered for one role is never served to another and a new build (a new snapshot file)
  is picked up on the next rerun. Results are shared, not copied: a cache hit costs no
  unpickling, which was the largest share of the server's time per page load (measured
  with `observatory bench load`). Views return Polars frames and frozen dataclasses, which
  callers never modify in place.
- Operational data (alerts, their trails, saved scenarios) changes when anybody acts:
  `fetch_live` caches it for a few seconds only, and the page clears it after an action.
- Every query runs on its own cursor of a per-snapshot read-only connection, which is
  safe across Streamlit's script threads.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import streamlit as st

from observatory import settings
from observatory.datasets import known_datasets
from observatory.errors import StoreMissingError
from observatory.registry import Registry, load_registry
from observatory.registry.loader import definitions_signature
from observatory.roles import Role
from observatory.sandbox import Limits, Sandbox
from observatory.snapshots import current_snapshot, store_dir
from observatory.store import connect_read
from observatory.ui.auth import page_role

T = TypeVar("T")
_TTL = "10m"
_ENTRIES = 1024
_LIVE_TTL = 5  # seconds: people act on alerts, so never serve them stale for long
_SERVED = ("observatory.views", "observatory.publish")
_SIGNATURE_EVERY_S = 1.0  # the indicator folder is walked at most once a second
# What one analyst's query may use (the workbench's row cap; previews ask for more rows).
SANDBOX_LIMITS = Limits(timeout_s=10.0, max_rows=10_000)


@dataclass(frozen=True)
class Context:
    """The snapshot file when the rerun started (immutable) and the indicator folder's
    fingerprint: together with the view, its arguments and the role, the cache key."""

    store: str
    snapshot: str
    indicators: str
    registry_key: str


_signature_lock = threading.Lock()
_signature: dict[str, tuple[float, str]] = {}


def _registry_key(folder: Path) -> str:
    """A short digest of the definitions' names and modification times, recomputed at
    most once a second (walking the folder on every call cost a tenth of a page load)."""
    now = time.monotonic()
    with _signature_lock:
        seen = _signature.get(str(folder))
        if seen and now - seen[0] < _SIGNATURE_EVERY_S:
            return seen[1]
    digest = hashlib.blake2b(repr(definitions_signature(folder)).encode(),
                             digest_size=12).hexdigest()
    with _signature_lock:
        _signature[str(folder)] = (now, digest)
    return digest


def context() -> Context:
    """The current snapshot and registry fingerprint; raises StoreMissingError if no store."""
    store = settings.store_path()
    if not store.exists():
        raise StoreMissingError(
            f"No store at {store}. Build the demo store with `uv run observatory demo`, "
            f"or point ${settings.STORE_ENV} at an existing store file.")
    snapshot = current_snapshot(store)
    if snapshot is None:
        raise StoreMissingError(f"The store link {store} points at no snapshot; rebuild it "
                                "with `uv run observatory demo --rebuild`.")
    folder = settings.indicators_dir()
    return Context(store=str(store), snapshot=str(snapshot), indicators=str(folder),
                   registry_key=_registry_key(folder))


def store_problem() -> str | None:
    """Why the store cannot be read (missing file), or None when it can."""
    try:
        context()
    except StoreMissingError as exc:
        return str(exc)
    return None


def _close(con: duckdb.DuckDBPyConnection) -> None:
    con.close()


@st.cache_resource(max_entries=2, on_release=_close, show_spinner=False)
def _connection(store: str, snapshot: str) -> duckdb.DuckDBPyConnection:
    return connect_read(Path(store), snapshot=Path(snapshot))


def _close_sandbox(box: Sandbox) -> None:
    box.close()


@st.cache_resource(max_entries=2, on_release=_close_sandbox, show_spinner=False)
def _sandbox(store: str, snapshot: str) -> Sandbox:
    return Sandbox(Path(snapshot), lake_root=store_dir(Path(store)) / "lake",
                   limits=SANDBOX_LIMITS)


def sandbox() -> Sandbox:
    """The locked-down DuckDB over the current snapshot where analysts' SQL runs (the
    workbench, draft validation and previews): one per snapshot, one query at a time."""
    ctx = context()
    return _sandbox(ctx.store, ctx.snapshot)


@contextmanager
def cursor(ctx: Context) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the snapshot's read-only connection, closed afterwards."""
    con = _connection(ctx.store, ctx.snapshot).cursor()
    try:
        yield con
    finally:
        con.close()


@st.cache_resource(max_entries=4, show_spinner=False)
def registry(ctx: Context) -> Registry:
    """The indicator registry, validated against the snapshot's datasets."""
    with cursor(ctx) as con:
        return load_registry(Path(ctx.indicators), known_inputs=known_datasets(con))


@functools.cache
def _view(name: str) -> tuple[Callable[..., Any], bool, bool]:
    """The view called `name`, whether it takes the registry (second) and the role."""
    module, _, function = name.rpartition(":")
    if not module.startswith(_SERVED):
        raise ValueError(f"{name} is not a view: the gateway serves {', '.join(_SERVED)}")
    view = getattr(importlib.import_module(module), function)
    parameters = list(inspect.signature(view).parameters)
    return view, parameters[1:2] == ["registry"], "role" in parameters


def _name(view: Callable[..., Any]) -> str:
    return f"{view.__module__}:{view.__qualname__}"


def _run(ctx: Context, view: str, role: Role, args: tuple[Hashable, ...],
         params: tuple[tuple[str, Hashable], ...], **extra: Any) -> Any:
    function, takes_registry, takes_role = _view(view)
    head = (registry(ctx),) if takes_registry else ()
    keywords = {"role": role} if takes_role else {}
    with cursor(ctx) as con:
        return function(con, *head, *args, **keywords, **dict(params), **extra)


@st.cache_resource(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _call(ctx: Context, view: str, role: Role, args: tuple[Hashable, ...],
          params: tuple[tuple[str, Hashable], ...]) -> Any:
    return _run(ctx, view, role, args, params)


@st.cache_resource(ttl=_LIVE_TTL, max_entries=256, show_spinner=False)
def _call_live(ctx: Context, ops_url: str, view: str, role: Role, args: tuple[Hashable, ...],
               params: tuple[tuple[str, Hashable], ...]) -> Any:
    from observatory.opsdb import ops_database

    return _run(ctx, view, role, args, params, ops=ops_database(url=ops_url))


def fetch(view: Callable[..., T], *args: Hashable, **params: Hashable) -> T:
    """`view(con, registry, *args, role=<the page's role>, **params)`, cached."""
    return _call(context(), _name(view), page_role(), args, tuple(sorted(params.items())))


def fetch_live(view: Callable[..., T], *args: Hashable, **params: Hashable) -> T:
    """Like `fetch`, for views that also read the operational database (`ops=`): cached
    for a few seconds only."""
    from observatory.opsdb import ops_url_for

    return _call_live(context(), ops_url_for(settings.store_path()), _name(view), page_role(),
                      args, tuple(sorted(params.items())))


def clear_live() -> None:
    """Forget operational data at once (after an action), so the page shows it."""
    _call_live.clear()


def snapshot_label() -> str | None:
    """Which snapshot the figures come from: its build time and id (None without a store)."""
    try:
        ctx = context()
    except StoreMissingError:
        return None
    from observatory.views import snapshot_caption

    return fetch(snapshot_caption, Path(ctx.snapshot))


def store_label() -> str:
    """The store file as shown in the sidebar."""
    return str(settings.store_path()).replace(os.path.expanduser("~"), "~", 1)
