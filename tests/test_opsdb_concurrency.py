"""Nothing people do is lost, nothing is recorded or sent twice: real threads and processes
against SQLite and PostgreSQL (the `ops_url` fixture of tests/conftest_ops.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from observatory.alerts import (
    AlertActionError,
    ChannelSpec,
    RuleSet,
    acknowledge,
    add_comment,
    alert_trail,
    evaluate,
    list_alerts,
    resolve,
)
from observatory.opsdb import OpsDB, ops_database
from observatory.opsdb.schema import alert_events, notification_outbox
from observatory.registry import Registry
from observatory.settings import REPO_ROOT
from observatory.store import connect_read
from tests.conftest_ops import count_rows, insert_alert
from tests.test_alerts import NOW, _rule, _spec, _write_store


def _together(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) on `count` threads released at the same moment; returns each
    result or the exception it raised."""
    barrier = threading.Barrier(count)

    def run(index: int) -> object:
        barrier.wait()
        try:
            return work(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_simultaneous_comments_from_threads_are_all_recorded(ops: OpsDB) -> None:
    alert_id = insert_alert(ops)
    outcomes = _together(
        12, lambda i: add_comment(ops, alert_id, by=f"user{i}", comment=f"note {i}")
    )
    assert outcomes == [None] * 12
    trail = alert_trail(ops, alert_id)
    assert sorted(trail["comment"].to_list()) == sorted(f"note {i}" for i in range(12))
    assert set(trail["action"]) == {"commented"} and set(trail["via"]) == {"app"}


def test_concurrent_resolves_one_wins_the_others_are_told_why(ops: OpsDB) -> None:
    alert_id = insert_alert(ops)
    acknowledge(ops, alert_id, by="Aino")
    outcomes = _together(10, lambda i: resolve(ops, alert_id, by=f"user{i}", comment=f"fixed {i}"))
    refused = [o for o in outcomes if isinstance(o, AlertActionError)]
    assert outcomes.count(None) == 1 and len(refused) == 9
    assert {str(o) for o in refused} == {f"alert {alert_id} is already resolved."}
    trail = alert_trail(ops, alert_id)
    assert trail["action"].to_list() == ["acknowledged", "resolved"]
    assert trail["state_before"].to_list() == ["firing", "acknowledged"]


class _Counter(BaseHTTPRequestHandler):
    posts: list[dict] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with _Counter.lock:
            _Counter.posts.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook_port() -> Iterator[int]:
    _Counter.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _registry() -> Registry:
    registry = Registry(folder=Path("t"))
    for name in ("levels_count", "rising_count"):
        registry.specs[name] = _spec(name)
    return registry


def _notifying_rules(port: int) -> RuleSet:
    hook = ChannelSpec(
        name="hook", webhook={"url": f"http://127.0.0.1:{port}/h"}, backoff_seconds=0
    )
    rules = [
        _rule("high", "threshold", indicator="levels_count", above=10, notify=["hook"]),
        _rule("silent", "sensor_silent", hours=6, notify=["hook"]),
        _rule(
            "no2",
            "threshold",
            variable="no2",
            window="hour",
            place="station",
            above=200,
            notify=["hook"],
        ),
        _rule("stale", "stale_source", notify=["hook"]),
    ]
    return RuleSet(folder=Path("t"), rules={r.name: r for r in rules}, channels={"hook": hook})


def evaluate_in_child(store: str, url: str, port: str) -> None:
    """One evaluation of the notifying rules (the body of a child process)."""
    con = connect_read(Path(store))
    try:
        evaluate(con, _notifying_rules(int(port)), _registry(), ops=ops_database(url=url), now=NOW)
    finally:
        con.close()


def _check_sent_once(ops: OpsDB) -> None:
    firing = list_alerts(ops)
    fired = firing.filter(pl.col("state") == "firing").height
    keys = [post["idempotency_key"] for post in _Counter.posts]
    assert fired == 4 and len(keys) == fired and len(set(keys)) == fired
    assert sorted(post["alert"]["id"] for post in _Counter.posts) == sorted(
        firing.filter(pl.col("state") == "firing")["id"].to_list()
    )
    with ops.read() as conn:
        statuses = conn.execute(sa.select(notification_outbox.c.status)).scalars().all()
    assert statuses == ["sent"] * fired


def test_concurrent_evaluations_in_threads_notify_once(
    tmp_path: Path, ops: OpsDB, hook_port: int
) -> None:
    store = tmp_path / "hand.duckdb"
    _write_store(store)
    outcomes = _together(4, lambda i: evaluate_in_child(str(store), ops.url, str(hook_port)))
    assert outcomes == [None] * 4
    _check_sent_once(ops)
    events = count_rows(ops, alert_events)
    evaluate_in_child(str(store), ops.url, str(hook_port))  # and once more: nothing new
    assert count_rows(ops, alert_events) == events and len(_Counter.posts) == 4


_CHILD = (
    "import sys; from tests.test_opsdb_concurrency import evaluate_in_child; "
    "evaluate_in_child(*sys.argv[1:])"
)


@pytest.mark.slow
def test_concurrent_evaluations_in_processes_notify_once(
    tmp_path: Path, ops: OpsDB, hook_port: int
) -> None:
    store = tmp_path / "hand.duckdb"
    _write_store(store)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(store), ops.url, str(hook_port)],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    errors = [child.communicate(timeout=180)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0], errors
    _check_sent_once(ops)


_ACTIONS = """
import sys
from pathlib import Path
from observatory.alerts import act_on_store
from observatory.store import connect_read
store, marker, ids = Path(sys.argv[1]), sys.argv[2], [int(i) for i in sys.argv[3:]]
for n, alert_id in enumerate(ids):
    act_on_store(store, "comment", alert_id, by=marker, comment=f"{marker}-{n}", via="cli")
act_on_store(store, "assign", ids[0], to="street-team", by=marker, via="cli")
"""


@pytest.mark.slow
def test_actions_from_processes_during_a_build_are_all_recorded(demo_copy: Path) -> None:
    ops = ops_database(demo_copy)
    open_ids = list_alerts(ops, state="firing")["id"].to_list()[:6]
    acknowledge(ops, open_ids[0], by="Aino", via="cli")
    build = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "observatory.cli",
            "indicators",
            "compute",
            "--store",
            str(demo_copy),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", _ACTIONS, str(demo_copy), f"client{c}", *map(str, open_ids)],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in range(4)
    ]
    errors = [client.communicate(timeout=300)[1] for client in clients]
    overlapped = build.poll() is None  # the build was still running when they finished
    assert [c.returncode for c in clients] == [0] * 4, errors
    build_errors = build.communicate(timeout=600)[1]
    assert build.returncode == 0, build_errors
    with ops.read() as conn:
        comments = (
            conn.execute(
                sa.select(alert_events.c.comment).where(alert_events.c.action == "commented")
            )
            .scalars()
            .all()
        )
    expected = [f"client{c}-{n}" for c in range(4) for n in range(len(open_ids))]
    assert sorted(comments) == sorted(expected)
    kept = list_alerts(ops).filter(pl.col("id") == open_ids[0]).row(0, named=True)
    assert (kept["state"], kept["acknowledged_by"], kept["assignee"]) == (
        "acknowledged",
        "Aino",
        "street-team",
    )
    assert overlapped, "the build ended before the clients: make it overlap"
