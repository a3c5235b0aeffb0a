"""The operational database: URLs, connection settings, migrations (once, even when several
processes open a fresh database together), clear errors, and the alert CLI on it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from observatory.cli import main
from observatory.opsdb import (
    DATABASE_ENV,
    HEAD,
    OpsDatabaseUnavailable,
    OpsDB,
    ops_database,
    ops_url_for,
    sqlite_path_for,
)
from observatory.opsdb.migrate import recorded_revision, script_head
from observatory.opsdb.schema import metadata
from observatory.settings import REPO_ROOT
from observatory.store import connect_in_place, init_schema
from tests.conftest_ops import insert_alert

UNREACHABLE = "postgresql://someone:s3cret@127.0.0.1:1/observatory"


def test_urls_default_to_sqlite_beside_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    store = Path("/srv/var/observatory.duckdb")
    assert sqlite_path_for(store) == Path("/srv/var/observatory.ops.sqlite")
    snapshot = Path("/srv/var/observatory.duckdb.d/snapshots/20250101T000000Z-abc.duckdb")
    assert sqlite_path_for(snapshot) == Path("/srv/var/observatory.ops.sqlite")
    assert ops_url_for(store) == "sqlite:////srv/var/observatory.ops.sqlite"
    monkeypatch.setenv(DATABASE_ENV, "postgresql://u@db:5433/ops")
    assert ops_url_for(store) == "postgresql+psycopg://u@db:5433/ops"
    assert ops_url_for(store, url="postgres://h/x") == "postgresql+psycopg://h/x"


def test_sqlite_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    ops = ops_database(tmp_path / "var" / "observatory.duckdb")
    assert (tmp_path / "var" / "observatory.ops.sqlite").is_file()
    with ops.read() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 30000,
    }
    assert ops_database(tmp_path / "var" / "observatory.duckdb") is ops  # cached per URL


def test_migrations_create_the_declared_schema(ops: OpsDB) -> None:
    assert HEAD == script_head()
    inspector = sa.inspect(ops.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    with ops.read() as conn:
        assert recorded_revision(conn) == HEAD
    for table in ("indicator_drafts", "indicator_draft_versions", "indicator_draft_comments"):
        assert inspector.has_table(table)  # migration 0004
    indexes = {i["name"]: i for i in inspector.get_indexes("role_grants")}
    assert indexes["ix_role_grants_active"]["unique"]  # one active grant per person and role


_OPEN = """
import sys, time
from observatory.opsdb import ops_database
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
print(int(ops_database(url=sys.argv[1]).migrated))
"""


@pytest.mark.slow
def test_processes_opening_a_fresh_database_migrate_it_once(ops_url: str) -> None:
    start = time.time() + 4  # every child is imported and waiting by then
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN, ops_url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        for _ in range(6)
    ]
    outcomes = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * 6, outcomes
    assert sorted(int(out) for out, _ in outcomes) == [0, 0, 0, 0, 0, 1]
    with ops_database(url=ops_url).read() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]


def test_an_unreachable_server_is_one_line_naming_host_and_port() -> None:
    with pytest.raises(OpsDatabaseUnavailable) as caught:
        ops_database(url=UNREACHABLE)
    text = str(caught.value)
    assert "127.0.0.1:1" in text and "\n" not in text and "s3cret" not in text
    assert DATABASE_ENV in text


@pytest.fixture
def tiny_store(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.duckdb"
    con = connect_in_place(path)
    init_schema(con)
    con.close()
    return path


def test_cli_with_an_unreachable_server_exits_2_without_a_traceback(tiny_store: Path) -> None:
    env = {**os.environ, DATABASE_ENV: UNREACHABLE}
    done = subprocess.run(
        [sys.executable, "-m", "observatory.cli", "alerts", "list", "--store", str(tiny_store)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "127.0.0.1:1" in lines[0] and "Traceback" not in done.stderr


def test_cli_refuses_unknown_and_resolved_alerts_with_one_line(
    tiny_store: Path, ops_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = ops_database(url=ops_env)
    done = insert_alert(ops, state="resolved")
    store = ["--store", str(tiny_store)]
    assert main(["alerts", "resolve", str(done), "--by", "Aino", "--comment", "x", *store]) == 2
    assert capsys.readouterr().err.strip() == f"error: alert {done} is already resolved."
    assert main(["alerts", "ack", "99", "--by", "Aino", *store]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: no alert with id 99; `observatory alerts list` shows them."
    assert (
        main(["alerts", "comment", str(done), "--by", "Aino", "--comment", "late note", *store])
        == 0
    )
    assert main(["alerts", "list", "--json", *store]) == 0
    assert '"comment": "late note"' in capsys.readouterr().out
