"""`observatory watch DIR --source ID`: append the files a sensor gateway drops in a folder.

Every `interval` seconds the folder is listed; a file is taken once it has not changed
for `settle` seconds (a gateway still writing it is left alone; names starting with `.`
or ending in `.tmp` / `.part` are never taken). Each file goes through the ordinary
append path (observatory/append.py), in name order, then moves to `DIR/.done/`; a file
that cannot be used moves to `DIR/.rejected/` beside a `.reason.txt` saying why, and the
watch goes on. Appending is idempotent, so a file taken twice (the watcher killed between
append and move) changes nothing the second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from observatory.append import AppendReport, append_file
from observatory.connectors import Progress, silent_progress
from observatory.errors import InputError

SUFFIXES = (".csv", ".parquet", ".pq", ".json")
_SKIP = (".tmp", ".part")


@dataclass
class WatchSummary:
    """What a watch did."""

    appended: list[AppendReport] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def ready_files(folder: Path, *, settle: float, now: float | None = None) -> list[Path]:
    """Files in `folder` that look finished, in name order."""
    now = time.time() if now is None else now
    found = []
    for path in sorted(folder.iterdir()):
        name = path.name
        if (not path.is_file() or name.startswith(".") or name.endswith(_SKIP)
                or path.suffix.lower() not in SUFFIXES):
            continue
        if now - path.stat().st_mtime >= settle:
            found.append(path)
    return found


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    stem, n = path.stem, 1
    while target.exists():
        target, n = folder / f"{stem}.{n}{path.suffix}", n + 1
    path.replace(target)
    return target


def take(store: Path, path: Path, *, kind: str, source_id: str, summary: WatchSummary,
         progress: Progress) -> None:
    """Append one file, then file it under .done/ or .rejected/."""
    try:
        report = append_file(store, kind, path, source_id=source_id, progress=progress)
    except InputError as exc:
        target = _move(path, path.parent / ".rejected")
        target.with_name(target.name + ".reason.txt").write_text(f"{exc}\n", encoding="utf-8")
        summary.rejected.append((path.name, str(exc)))
        progress(f"rejected {path.name}: {str(exc).splitlines()[0]}")
        return
    _move(path, path.parent / ".done")
    summary.appended.append(report)
    progress(report.summary())


def watch(store: Path, folder: Path, *, source_id: str, kind: str = "timeseries",
          interval: float = 2.0, settle: float = 1.0, once: bool = False,
          stop: Callable[[], bool] = lambda: False,
          progress: Progress = silent_progress) -> WatchSummary:
    """Append new files of `folder` to `source_id` until `stop()` (or one pass with
    `once`, which takes every file there without waiting for it to settle)."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder to watch.")
    summary = WatchSummary()
    progress(f"watching {folder} for {kind} files of {source_id} (every {interval:g} s)")
    while True:
        for path in ready_files(folder, settle=0.0 if once else settle):
            take(store, path, kind=kind, source_id=source_id, summary=summary,
                 progress=progress)
        if once or stop():
            return summary
        time.sleep(interval)
