"""Fixtures of the operational-database tests: every test runs on SQLite and PostgreSQL.

PostgreSQL comes from $OBSERVATORY_TEST_POSTGRES_URL, an admin URL of a throw-away server
(scripts/test.sh starts one); each test gets a fresh database, dropped afterwards. Without
the variable the PostgreSQL case is skipped, unless $CI is set: then it fails.
Plain pytest fixtures; tests/conftest.py loads this module as a plugin.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from observatory.opsdb import DATABASE_ENV, OpsDB, close_ops_databases, ops_database, ops_url_for
from observatory.opsdb.schema import alerts

POSTGRES_ENV = "OBSERVATORY_TEST_POSTGRES_URL"


def _admin_url() -> str:
    admin = os.environ.get(POSTGRES_ENV, "").strip()
    if not admin:
        reason = f"${POSTGRES_ENV} is not set: no PostgreSQL server to test against"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (required when $CI is set)")
        pytest.skip(reason)
    return ops_url_for(url=admin)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (its URL), dropped after the test."""
    admin = sa.make_url(_admin_url())
    name = f"observatory_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        close_ops_databases(url)
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def ops_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh operational database: SQLite in tmp_path, or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
        yield url
        close_ops_databases(url)
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def ops(ops_url: str) -> OpsDB:
    """The fresh operational database, migrated."""
    return ops_database(url=ops_url)


@pytest.fixture
def ops_env(ops_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """$OBSERVATORY_DATABASE_URL pointing at the fresh database, for code (and child
    processes) that find the operational database from the store."""
    monkeypatch.setenv(DATABASE_ENV, ops_url)
    return ops_url


def insert_alert(
    ops: OpsDB,
    *,
    rule: str = "high",
    place_id: str = "whole",
    state: str = "firing",
    severity: str = "warning",
    started_at: datetime | None = None,
) -> int:
    """One hand-made alert row; returns its id."""
    now = datetime.now(UTC)
    with ops.write() as conn:
        return int(
            conn.execute(
                sa.insert(alerts)
                .values(
                    rule=rule,
                    kind="threshold",
                    severity=severity,
                    owner_team="ops",
                    place_kind="whole",
                    place_id=place_id,
                    place_label="whole area",
                    started_at=started_at or now,
                    message=f"{rule} at {place_id}",
                    state=state,
                    created_at=now,
                    updated_at=now,
                )
                .returning(alerts.c.alert_id)
            ).scalar_one()
        )


def count_rows(ops: OpsDB, table: sa.Table) -> int:
    """Rows in one table of the operational database."""
    with ops.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def copy_store(store: Path, folder: Path) -> Path:
    """A private copy of a published store in `folder` (not its operational database)."""
    from observatory.snapshots import copy_store as copy

    return copy(store, folder / store.name)


def evaluate_alerts(store: Path) -> None:
    """Evaluate the demo's alert rules on `store` into its operational database."""
    from observatory.alerts import evaluate_published
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.settings import indicators_dir
    from observatory.store import connect_read

    con = connect_read(store)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    finally:
        con.close()
    evaluate_published(store, registry, send=False)


@pytest.fixture
def demo_copy(
    helsinki_store: Path, tmp_path: Path, ops_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private copy of the demo store whose alerts were evaluated into the fresh
    operational database, which $OBSERVATORY_DATABASE_URL points at."""
    (tmp_path / "demo").mkdir()
    store_copy = copy_store(helsinki_store, tmp_path / "demo")
    monkeypatch.setenv(DATABASE_ENV, ops_url)
    evaluate_alerts(store_copy)
    return store_copy
