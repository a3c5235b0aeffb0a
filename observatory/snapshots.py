"""Immutable snapshots of the analytical store.

The store path (`var/observatory.duckdb` by default) is a symbolic link to the current
snapshot, `<store>.d/snapshots/<id>.duckdb`. A snapshot is never changed once written:
a writer builds the next one beside it (`.building-*`), checkpoints and fsyncs it, renames
it to its id and swaps the link with one `os.replace`, so a reader (which opens the link,
hence one snapshot) never sees a half-written store, and a server that opens the link again
on its next rerun picks up the newest build without a restart.

Writers take an exclusive `flock` on `<store>.d/write.lock` for the whole session: builds,
ingests and appends queue instead of racing, and the lock dies with its process, so a
writer killed with SIGKILL blocks nobody. The next writer removes what a killed one left
(`.building-*` files, a half-made link) before it starts. The newest `keep` snapshots are
kept (`OBSERVATORY_KEEP_SNAPSHOTS`, default 5); the current one always is.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

KEEP_ENV = "OBSERVATORY_KEEP_SNAPSHOTS"
DEFAULT_KEEP = 5
_BUILDING = ".building-"
_SUFFIX = ".duckdb"
FILE_LIST_SUFFIX = ".files"  # beside each snapshot: the lake files it reads


@dataclass(frozen=True)
class Snapshot:
    """One snapshot file of a store."""

    id: str
    path: Path
    built_at: datetime
    size_bytes: int
    current: bool


def store_dir(store: Path) -> Path:
    """The folder beside the store link that holds its snapshots, lake and lock."""
    return store.with_name(store.name + ".d")


def snapshots_dir(store: Path) -> Path:
    """Where the snapshot files of `store` live."""
    return store_dir(store) / "snapshots"


def connection_config(store: Path) -> dict[str, str]:
    """DuckDB settings of every connection to a snapshot of `store` (one process must open
    a file with one configuration): relative Parquet paths resolve against its lake."""
    return {"file_search_path": str(store_dir(store) / "lake")}


def keep_count() -> int:
    """How many snapshots to keep: $OBSERVATORY_KEEP_SNAPSHOTS, default 5 (at least 1)."""
    text = os.environ.get(KEEP_ENV, "").strip()
    return max(1, int(text)) if text.isdigit() else DEFAULT_KEEP


def current_snapshot(store: Path) -> Path | None:
    """The file the store link points at now (a legacy plain file is its own snapshot);
    None when there is no store."""
    if store.is_symlink():
        target = store.resolve()
        return target if target.exists() else None
    return store if store.exists() else None


def _new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + uuid.uuid4().hex[:6]


def _id_time(snapshot_id: str) -> datetime:
    try:
        return datetime.strptime(snapshot_id.split("-")[0], "%Y%m%dT%H%M%S%fZ").replace(
            tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def list_snapshots(store: Path) -> list[Snapshot]:
    """Every snapshot of `store`, newest first."""
    folder = snapshots_dir(store)
    current = current_snapshot(store)
    files = sorted((p for p in folder.glob(f"*{_SUFFIX}") if not p.name.startswith(".")),
                   reverse=True) if folder.is_dir() else []
    return [Snapshot(id=p.stem, path=p, built_at=_id_time(p.stem),
                     size_bytes=p.stat().st_size, current=current == p.resolve())
            for p in files]


@contextlib.contextmanager
def writer_lock(store: Path) -> Iterator[None]:
    """Hold the store's exclusive writer lock (waits for another writer to finish)."""
    folder = store_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "write.lock").open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_leftovers(store: Path) -> list[Path]:
    """Remove what killed writers left: half-built snapshots and half-made links (call
    with the writer lock held). Returns what was removed."""
    removed = []
    candidates = list(snapshots_dir(store).glob(f"{_BUILDING}*"))
    candidates += list(snapshots_dir(store).glob(".*.tmp"))
    candidates += list(store.parent.glob(f".{store.name}.*.building*"))  # the old layout
    candidates += list(store.parent.glob(f".{store.name}.link-*"))
    for leftover in candidates:
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def adopt_plain_file(store: Path) -> None:
    """Turn a store that is a plain file (an older layout, or a copied file) into the first
    snapshot of the new layout (call with the writer lock held)."""
    if store.is_symlink() or not store.exists():
        return
    folder = snapshots_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{_new_id()}{_SUFFIX}"
    shutil.copyfile(store, target)
    store.with_name(store.name + ".wal").unlink(missing_ok=True)
    point_link(store, target)


def building_path(store: Path) -> Path:
    """A fresh path for the snapshot being built."""
    folder = snapshots_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_BUILDING}{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}"


def new_id() -> str:
    """A fresh snapshot id: its UTC build time (sortable) and a random tail."""
    return _new_id()


def publish(store: Path, built: Path, *, snapshot_id: str | None = None) -> Path:
    """Make the finished file `built` an immutable snapshot and the current one."""
    with built.open("rb+") as handle:
        os.fsync(handle.fileno())
    target = snapshots_dir(store) / f"{snapshot_id or _new_id()}{_SUFFIX}"
    os.replace(built, target)
    _fsync_dir(target.parent)
    point_link(store, target)
    return target


def point_link(store: Path, target: Path) -> None:
    """Swap the store link to `target` atomically (a relative link, so the folder can move)."""
    link = store.with_name(f".{store.name}.link-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    os.symlink(os.path.relpath(target, store.parent), link)
    os.replace(link, store)
    _fsync_dir(store.parent)


def prune(store: Path, *, keep: int | None = None) -> list[Path]:
    """Delete all but the newest `keep` snapshots (never the current one)."""
    keep = keep_count() if keep is None else max(1, keep)
    removed = []
    for snapshot in list_snapshots(store)[keep:]:
        if not snapshot.current:
            snapshot.path.unlink(missing_ok=True)
            removed.append(snapshot.path)
    return removed  # their `.files` lists stay for the lake's garbage collection


def copy_store(source: Path, destination: Path) -> Path:
    """A private copy of a store (its current snapshot and its lake) at `destination`."""
    current = current_snapshot(source)
    if current is None:
        raise FileNotFoundError(source)
    lake = store_dir(source) / "lake"
    if lake.is_dir():
        shutil.copytree(lake, store_dir(destination) / "lake", dirs_exist_ok=True)
    kept = store_dir(source) / "alert_conditions"
    if kept.is_dir():
        shutil.copytree(kept, store_dir(destination) / "alert_conditions", dirs_exist_ok=True)
    folder = snapshots_dir(destination)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / current.name  # the same snapshot, so the same id
    shutil.copyfile(current, target)
    side = current.with_suffix(FILE_LIST_SUFFIX)
    if side.exists():
        shutil.copyfile(side, target.with_suffix(FILE_LIST_SUFFIX))
    point_link(destination, target)
    return destination
