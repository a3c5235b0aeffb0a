"""`observatory bench operations`: both halves on one freshly built demo store.

1. Actions (observatory/bench/operations.py): alert actions from concurrent clients in the
   operational database while builds publish snapshots. Peer in the same run: the same kind
   of action written the way observatory did before, as a write session on the analytical
   store (now queued behind the writer lock instead of lost), while one build runs.
2. Appends (observatory/bench/appends.py): new readings into a store of N readings against
   the full rebuild.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from observatory.bench.appends import append_benchmark
from observatory.bench.operations import actions_benchmark

PEER_ACTIONS = 20


def _log(message: str) -> None:
    print(f"[bench operations] {message}", file=sys.stderr)


def _peer_action(store: Path, marker: str, latencies: list[float]) -> None:
    from observatory.store import write_session

    start = time.perf_counter()
    with write_session(store, label="peer action") as con:
        con.execute("CREATE TABLE IF NOT EXISTS peer_comments (marker VARCHAR)")
        con.execute("INSERT INTO peer_comments VALUES ($m)", {"m": marker})
    latencies.append((time.perf_counter() - start) * 1000)


def peer_actions(store: Path) -> dict[str, object]:
    """PEER_ACTIONS comments as analytical-store write sessions while one build runs."""
    build = subprocess.Popen([sys.executable, "-m", "observatory.cli", "indicators",
                              "compute", "--store", str(store)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.0)  # the build holds the writer lock by now
    latencies: list[float] = []
    threads = [threading.Thread(target=_peer_action, args=(store, f"peer-{n}", latencies))
               for n in range(PEER_ACTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    build.wait()
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"peer_actions": PEER_ACTIONS, "peer_recorded": len(latencies),
            "peer_action_p95_ms": round(p95, 1)}


def main(*, readings: int, actions: int, clients: int, builds: int, stations: int = 96,
         cadence_s: int = 600) -> dict[str, object]:
    """Build the demo store, run both halves, return every figure."""
    from observatory.build import build_store
    from observatory.snapshots import copy_store

    with tempfile.TemporaryDirectory(prefix="observatory-bench-ops-") as folder:
        root = Path(folder)
        demo = root / "demo" / "store.duckdb"
        _log("building the demo store")
        build_store(demo)
        spare = copy_store(demo, root / "spare" / "store.duckdb")
        peer_store = copy_store(demo, root / "peer" / "store.duckdb")
        _log(f"{actions} alert actions from {clients} clients during {builds} builds")
        figures: dict[str, object] = dict(actions_benchmark(demo, actions=actions,
                                                            clients=clients, builds=builds))
        _log("peer: actions as write sessions on the analytical store during a build")
        figures.update(peer_actions(peer_store))
        ours, peer = (float(str(figures[k])) for k in ("action_p95_ms", "peer_action_p95_ms"))
        figures["action_p95_ratio"] = round(peer / max(ours, 1e-9), 1)
        _log(f"actions: {figures}")
        figures.update(append_benchmark(spare, root / "appends", total=readings,
                                        stations=stations, cadence_s=cadence_s))
        return figures
