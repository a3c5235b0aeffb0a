"""`observatory bench drafts`: validation as you type and the preview of a draft, against
what an analyst does without the app (the peers, on the same store in the same run).

- **check**: one draft validated as typed (`check_draft`: the CLI's validator plus its SQL
  bound in the sandbox), `--edits` times with a one-character change each; the peer is
  `observatory indicators validate` over the folder holding the draft (every definition
  loaded and bound), which is what the analyst otherwise runs after each edit.
- **preview**: a typical shipped indicator (`grocery_15min_walk_share`: residents within 15
  minutes' walk, a ratio over the study cells) and a count of POIs, run in the sandbox with the
  contract checks and rollups; the peer is `observatory indicators compute NAME`, which
  computes the same figures into a new snapshot of a copy of the store.

The store is $OBSERVATORY_STORE (or --store); the demo store is built in a temporary
folder when there is none. The JSON summary is the last line.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

TYPICAL = "grocery_15min_walk_share"
COUNT_SQL = ("SELECT h3_cell, count(*) AS value\nFROM osm_pois\nWHERE category = 'grocery'\n"
             "GROUP BY h3_cell\n")


def _say(message: str) -> None:
    print(f"[bench drafts] {message}", file=sys.stderr)


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p95": round(p95 * 1000, 1)}


def _timed(action: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def _store(path: Path | None, scratch: Path) -> Path:
    from observatory.build import build_store

    if path is not None and path.exists():
        return path
    _say("no store: building the demo store")
    built = scratch / "demo" / "observatory.duckdb"
    build_store(built)
    return built


def _validate_all(store: Path, folder: Path) -> None:
    """What `observatory indicators validate --indicators FOLDER --store STORE` runs: every
    definition loaded, then every SQL bound in a sandbox over the current snapshot."""
    from observatory.datasets import known_datasets_at
    from observatory.registry import load_registry
    from observatory.registry.sql_check import check_queries
    from observatory.sandbox import Sandbox
    from observatory.snapshots import current_snapshot, store_dir

    registry = load_registry(folder, known_inputs=known_datasets_at(store))
    box = Sandbox(current_snapshot(store), lake_root=store_dir(store) / "lake")
    try:
        found, _ = check_queries(box, registry)
    finally:
        box.close()
    if found or registry.all_problems():
        raise AssertionError("the bench's indicator folder is not valid")


def _check_bench(store: Path, folder: Path, edits: int) -> dict[str, Any]:
    from observatory.datasets import known_datasets_at
    from observatory.drafts.check import check_draft
    from observatory.drafts.form import DraftForm, definition_text
    from observatory.registry import load_registry
    from observatory.sandbox import Sandbox
    from observatory.snapshots import current_snapshot, store_dir

    known = known_datasets_at(store)
    registry = load_registry(folder, known_inputs=known)
    form = DraftForm(name="grocery_shops_count", label_en="Grocery shops",
                     description_en="Grocery shops per cell.", theme="services",
                     inputs=("osm_pois",), owner="bench", standard_en="OpenStreetMap")
    box = Sandbox(current_snapshot(store), lake_root=store_dir(store) / "lake")
    counter = iter(range(10**9))

    def one_edit() -> None:  # the analyst types one more character
        text = definition_text(replace(form, label_en=f"Grocery shops {next(counter)}"))
        if check_draft(text, COUNT_SQL, registry=registry, known_inputs=known,
                       sandbox=box).problems:
            raise AssertionError("the bench draft is not valid")

    try:
        ours = _timed(one_edit, edits)
    finally:
        box.close()
    (folder / "services" / "grocery_shops_count.yml").write_text(definition_text(form))
    (folder / "services" / "grocery_shops_count.sql").write_text(COUNT_SQL)

    peer = _timed(lambda: _validate_all(store, folder), max(3, edits // 10))
    return {"check_ms": _ms(ours), "peer_validate_ms": _ms(peer),
            "check_ratio": round(statistics.median(peer) / statistics.median(ours), 1)}


def _preview_bench(store: Path, folder: Path, scratch: Path, times: int) -> dict[str, Any]:
    from observatory.build import compute_into
    from observatory.datasets import known_datasets_at
    from observatory.drafts.preview import preview
    from observatory.registry import load_registry
    from observatory.sandbox import Sandbox
    from observatory.snapshots import copy_store, current_snapshot, store_dir
    from observatory.store import write_session

    known = known_datasets_at(store)
    registry = load_registry(folder, known_inputs=known)
    typical, count = registry.get(TYPICAL), registry.get("grocery_shops_count")
    box = Sandbox(current_snapshot(store), lake_root=store_dir(store) / "lake")
    try:
        results = {name: _timed(lambda loaded=loaded: preview(box, loaded), times)
                   for name, loaded in ((TYPICAL, typical), ("count", count))}
        cells = preview(box, typical).rows
    finally:
        box.close()
    copy = copy_store(store, scratch / "copy" / "observatory.duckdb")

    def compute() -> None:
        with write_session(copy, label="bench drafts") as session:
            compute_into(session, indicators=folder, names=[TYPICAL])

    peer = _timed(compute, max(2, times // 5))
    return {"preview_ms": _ms(results[TYPICAL]), "preview_count_ms": _ms(results["count"]),
            "preview_cells": cells, "peer_compute_ms": _ms(peer),
            "preview_ratio": round(statistics.median(peer) / statistics.median(
                results[TYPICAL]), 1)}


def main(*, store: Path | None, edits: int = 50, previews: int = 10) -> dict[str, Any]:
    """Run both benchmarks; the summary."""
    from observatory.settings import REPO_ROOT

    with tempfile.TemporaryDirectory(prefix="observatory-bench-drafts-") as scratch_name:
        scratch = Path(scratch_name)
        path = _store(store, scratch)
        folder = scratch / "indicators"
        shutil.copytree(REPO_ROOT / "indicators", folder)
        _say(f"validation as you type: {edits} edits")
        summary = _check_bench(path, folder, edits)
        _say(f"previews: {previews} of {TYPICAL} and of a count")
        summary |= _preview_bench(path, folder, scratch, previews)
    return {"edits": edits, "previews": previews, **summary}
