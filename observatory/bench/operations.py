"""Benchmark: people acting on alerts while builds publish snapshots.

`actions_benchmark` runs alert actions (comments mostly, some acknowledgements and
assignments) from concurrent clients, half threads in this process and half separate
processes, while `observatory indicators compute` runs back to back on the same store,
then counts in the operational database how many actions were recorded: every action's
comment carries a unique marker. Nothing may be lost, and an action should take
milliseconds whatever the builds do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from observatory.alerts.lifecycle import act, list_alerts
from observatory.errors import InputError
from observatory.opsdb import ops_database
from observatory.opsdb.schema import alert_events

Plan = list[dict[str, object]]  # one dict per action: kind, alert_id, marker, at


def _plan(
    alert_ids: list[int], *, actions: int, clients: int, run: str, start: float, spread: float
) -> list[Plan]:
    """Each client's actions, spaced evenly over `spread` seconds from `start`."""
    plans: list[Plan] = [[] for _ in range(clients)]
    for k in range(actions):
        kind = "acknowledge" if k % 10 == 3 else "assign" if k % 10 == 7 else "comment"
        plans[k % clients].append(
            {
                "kind": kind,
                "alert_id": alert_ids[k % len(alert_ids)],
                "marker": f"bench-{run}-{k}",
                "at": start + spread * k / max(actions, 1),
            }
        )
    return plans


def run_plan(store: Path, plan: Plan) -> dict[str, object]:
    """Run one client's actions at their times; latencies (ms) and refusals."""
    ops = ops_database(store)
    latencies, errors = [], []
    for step in plan:
        time.sleep(max(0.0, float(step["at"]) - time.time()))  # type: ignore[arg-type]
        fields: dict[str, object] = {"by": "bench", "comment": step["marker"], "via": "cli"}
        if step["kind"] == "assign":
            fields["to"] = "bench-team"
        started = time.perf_counter()
        try:
            act(ops, str(step["kind"]), int(step["alert_id"]), **fields)  # type: ignore[arg-type]
        except InputError as exc:
            errors.append(f"{step['marker']}: {exc}")
            continue
        latencies.append((time.perf_counter() - started) * 1000)
    return {"latencies": latencies, "errors": errors}


def _process_client(store: Path, plan: Plan) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "observatory.bench.operations", str(store), json.dumps(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _builds(store: Path, count: int, spans: list[tuple[float, float, int]]) -> None:
    for _ in range(count):
        started = time.time()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "observatory.cli",
                "indicators",
                "compute",
                "--store",
                str(store),
            ],
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        spans.append((started, time.time(), done.returncode))


def _recorded(store: Path, run: str) -> dict[str, int]:
    query = sa.select(alert_events.c.comment).where(alert_events.c.comment.like(f"%bench-{run}-%"))
    counts: dict[str, int] = {}
    with ops_database(store).read() as conn:
        for comment in conn.execute(query).scalars():
            marker = "bench-" + str(comment).rsplit("bench-", 1)[1]
            counts[marker] = counts.get(marker, 0) + 1
    return counts


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2) if ordered else 0.0


def actions_benchmark(
    store: Path,
    *,
    actions: int = 200,
    clients: int = 20,
    builds: int = 3,
    spread_seconds: float = 30.0,
) -> dict:
    """Run `actions` alert actions from `clients` concurrent clients (half threads, half
    processes) spread over `spread_seconds`, while `builds` indicator computations run
    back to back on `store` (a private copy with open alerts); returns the figures."""
    alerts = list_alerts(ops_database(store))
    open_ids = alerts.filter(alerts["state"] != "resolved")["id"].to_list()
    if not open_ids:
        raise InputError(
            f"{store}: no open alerts to act on; run `observatory alerts "
            "evaluate` on a demo store first."
        )
    run = uuid.uuid4().hex[:8]
    plans = _plan(
        open_ids,
        actions=actions,
        clients=clients,
        run=run,
        start=time.time() + 6.0,
        spread=spread_seconds,
    )  # processes start first
    spans: list[tuple[float, float, int]] = []
    builder = threading.Thread(target=_builds, args=(store, builds, spans))
    builder.start()
    processes = [_process_client(store, plan) for plan in plans[clients // 2 :]]
    results: list[dict[str, object]] = [{} for _ in plans[: clients // 2]]
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, run_plan(store, plans[i])))
        for i in range(clients // 2)
    ]
    for thread in threads:
        thread.start()
    for process in processes:
        out, err = process.communicate(timeout=600)
        results.append(
            json.loads(out)
            if process.returncode == 0
            else {"latencies": [], "errors": [err.strip().splitlines()[-1:]]}
        )
    for thread in threads:
        thread.join()
    builder.join()
    latencies = [v for r in results for v in r.get("latencies", [])]  # type: ignore[attr-defined]
    errors = [e for r in results for e in r.get("errors", [])]  # type: ignore[attr-defined]
    counts = _recorded(store, run)
    busy = sum(
        1
        for plan in plans
        for step in plan
        if any(a <= float(step["at"]) <= b for a, b, _ in spans)
    )  # type: ignore[arg-type]
    return {
        "actions": actions,
        "recorded": len(counts),
        "lost": actions - len(errors) - len(counts),
        "duplicated": sum(n - 1 for n in counts.values()),
        "errors": len(errors),
        "error_samples": errors[:3],
        "action_p95_ms": _p95(latencies),
        "action_max_ms": round(max(latencies), 2) if latencies else 0.0,
        "actions_during_builds": busy,
        "builds": sum(1 for *_, rc in spans if rc == 0),
        "builds_failed": sum(1 for *_, rc in spans if rc != 0),
        "build_seconds": [round(b - a, 1) for a, b, _ in spans],
    }


if __name__ == "__main__":  # a process client: store and plan as arguments, figures out
    print(json.dumps(run_plan(Path(sys.argv[1]), json.loads(sys.argv[2]))))
