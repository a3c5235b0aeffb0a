"""The analytical store as immutable snapshots: readers keep theirs, writers queue, a
failed or killed writer leaves the current snapshot as it was, and the app follows the
newest one without a restart."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from observatory.cli import main
from observatory.settings import STORE_ENV
from observatory.snapshots import KEEP_ENV, current_snapshot, list_snapshots, snapshots_dir
from observatory.store import connect_read, set_meta, write_session
from tests.signin import signed_in

PM25 = "timeseries:simulated_sensors:pm25"


def _digest(store: Path) -> str:
    snapshot = current_snapshot(store)
    assert snapshot is not None
    return hashlib.sha256(snapshot.read_bytes()).hexdigest()


def _meta(store: Path, key: str) -> str | None:
    con = connect_read(store)
    try:
        rows = con.execute("SELECT value FROM store_meta WHERE key = $k", {"k": key}).fetchall()
    finally:
        con.close()
    return rows[0][0] if rows else None


def test_a_reader_keeps_its_snapshot_while_a_writer_publishes(store_copy: Path) -> None:
    reader = connect_read(store_copy)
    before = current_snapshot(store_copy)
    with write_session(store_copy, label="test") as con:
        set_meta(con, "marker", "new")
    assert current_snapshot(store_copy) != before
    assert reader.execute("SELECT count(*) FROM store_meta WHERE key = 'marker'"
                          ).fetchall()[0][0] == 0  # still the old, complete snapshot
    reader.close()
    assert before is not None
    old = connect_read(store_copy, snapshot=before)  # a kept snapshot still opens, unchanged
    try:
        assert old.execute("SELECT count(*) FROM store_meta WHERE key = 'marker'"
                           ).fetchall()[0][0] == 0
    finally:
        old.close()
    assert _meta(store_copy, "marker") == "new"
    assert _meta(store_copy, "snapshot_label") == "test"


def test_a_failed_write_leaves_the_current_snapshot_and_no_leftover(store_copy: Path) -> None:
    with write_session(store_copy):  # make the copy a snapshot store first
        pass
    digest, count = _digest(store_copy), len(list_snapshots(store_copy))
    with pytest.raises(RuntimeError), write_session(store_copy) as con:
        con.execute("DELETE FROM indicator_results")
        raise RuntimeError("boom")
    assert _digest(store_copy) == digest and len(list_snapshots(store_copy)) == count
    assert not [p for p in snapshots_dir(store_copy).iterdir() if p.name.startswith(".")]


def test_only_the_newest_snapshots_are_kept(store_copy: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEEP_ENV, "2")
    for n in range(4):
        with write_session(store_copy) as con:
            set_meta(con, "n", str(n))
    kept = list_snapshots(store_copy)
    assert len(kept) == 2 and kept[0].current and _meta(store_copy, "n") == "3"
    assert len(list(snapshots_dir(store_copy).glob("*.files"))) == 2
    assert main(["snapshots", "list", "--json", "--store", str(store_copy)]) == 0


def _write_key(store: str, key: str, barrier: Any) -> None:
    barrier.wait(60)  # all start together, so without the writer lock they would race
    with write_session(Path(store)) as con:
        set_meta(con, key, "done")
        time.sleep(0.3)  # overlap with the other writers


def test_concurrent_writers_queue_and_none_loses_the_others_change(store_copy: Path) -> None:
    context = multiprocessing.get_context("spawn")
    keys = [f"writer_{n}" for n in range(4)]
    barrier = context.Barrier(len(keys))
    workers = [context.Process(target=_write_key, args=(str(store_copy), key, barrier))
               for key in keys]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert all(_meta(store_copy, key) == "done" for key in keys)


def _readings(store: Path) -> int:
    con = connect_read(store)
    try:
        return int(con.execute("SELECT count(*) FROM sensor_readings").fetchall()[0][0])
    finally:
        con.close()


def _gateway_file(folder: Path, n: int) -> Path:
    path = folder / f"gateway-{n}.csv"
    rows = "".join(f"2025-0{1 + n % 9}-0{1 + i % 9}T0{i % 10}:00:00Z,SIM-01,60.164927,"
                   f"24.947136,{5 + i},20,1\n" for i in range(40))
    path.write_text("time,station,lat,lon,pm25,no2,temperature\n" + rows, encoding="utf-8")
    return path


def _ops_consistent(store: Path) -> None:
    ops = store.with_name(store.name.removesuffix(".duckdb") + ".ops.sqlite")
    if not ops.exists():
        return
    with sqlite3.connect(ops) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                           "WHERE type = 'table'").fetchall()}
        if "alembic_version" not in tables:  # killed before its first migration committed
            assert not tables & {"alerts", "alert_events"}, "a migration was half applied"
            return
        orphans = db.execute("SELECT count(*) FROM alert_events WHERE alert_id NOT IN "
                             "(SELECT alert_id FROM alerts)").fetchall()[0][0]
        assert orphans == 0


def _kill_mid_write(process: subprocess.Popen[bytes], store: Path, *, delay: float,
                    builds: bool) -> int:
    """SIGKILL the process `delay` s after it starts building a snapshot (a command that
    builds none, e.g. an evaluation writing the operational database, a few seconds after
    it starts); 1 if it was killed mid-build."""
    if not builds:
        time.sleep(2.0 + 2 * delay)
    deadline = time.monotonic() + 30
    while builds and time.monotonic() < deadline and process.poll() is None:
        if list(snapshots_dir(store).glob(".building-*")):
            time.sleep(delay)
            break
        time.sleep(0.05)
    building = bool(list(snapshots_dir(store).glob(".building-*")))
    process.send_signal(signal.SIGKILL)
    process.wait()
    return int(building)


@pytest.mark.slow
def test_sigkill_at_any_point_leaves_both_databases_consistent(store_copy: Path,
                                                               tmp_path: Path) -> None:
    rng = random.Random(20261201)
    base = _readings(store_copy)
    env = dict(os.environ, OBSERVATORY_DATABASE_URL="")
    env.pop("OBSERVATORY_DATABASE_URL")
    commands = [["indicators", "compute"], ["alerts", "evaluate"]]
    caught = 0
    for n in range(6):
        if n % 3 == 2:
            command = ["ingest", "timeseries", str(_gateway_file(tmp_path, n)), "--append",
                       "--source", PM25]
        else:
            command = commands[n % 3]
        process = subprocess.Popen([sys.executable, "-m", "observatory.cli", *command,
                                    "--store", str(store_copy)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        caught += _kill_mid_write(process, store_copy, delay=rng.uniform(0.0, 1.0),
                                  builds=n % 3 != 1)
        now = _readings(store_copy)  # the current snapshot opens and reads
        assert (now - base) % 40 == 0, "an append is visible whole or not at all"
        _ops_consistent(store_copy)
    assert caught >= 2, "the kills must land while a writer builds a snapshot"
    with write_session(store_copy):  # the next run removes what killed writers left
        pass
    leftovers = [p for p in snapshots_dir(store_copy).iterdir() if p.name.startswith(".")]
    assert not leftovers
    assert not list(store_copy.parent.glob(f".{store_copy.name}.link-*"))
    assert not list(store_copy.parent.glob(".*building*"))
    con = connect_read(store_copy)
    try:
        listed = {r[0] for r in con.execute("SELECT path FROM lake_files").fetchall()}
    finally:
        con.close()
    lake = store_copy.with_name(store_copy.name + ".d") / "lake"
    on_disk = {str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file()}
    older = set()
    for snapshot in list_snapshots(store_copy):
        side = snapshot.path.with_suffix(".files")
        if side.exists():
            older.update(side.read_text().split())
    assert on_disk <= listed | older, "every lake file belongs to a kept snapshot"


def test_the_app_follows_the_newest_snapshot_without_a_restart(
        store_copy: Path, app_script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STORE_ENV, str(store_copy))
    with write_session(store_copy, label="first"):
        pass
    at = signed_in(app_script, "operations").run()
    first = current_snapshot(store_copy)
    assert first is not None
    assert any(first.stem in str(c.value) for c in at.sidebar.caption)
    with write_session(store_copy, label="second"):
        pass
    at.run()
    second = current_snapshot(store_copy)
    assert second is not None and second != first
    captions = [str(c.value) for c in at.sidebar.caption]
    assert any(second.stem in c and "by second" in c for c in captions), captions
    assert not at.exception


def test_snapshots_list_json_marks_the_current_one(store_copy: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with write_session(store_copy, label="listed"):
        pass
    assert main(["snapshots", "list", "--json", "--store", str(store_copy)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["current"] and rows[0]["made_by"] == "listed"
    assert sum(r["current"] for r in rows) == 1
