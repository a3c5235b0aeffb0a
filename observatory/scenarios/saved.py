"""Saved scenarios in the operational database: save, list, open, duplicate, delete.

A scenario is kept as its file's text (`dump_scenario`), so what is saved is exactly what
an export gives and an import reads. Each save records its author (the signed-in e-mail)
and time; deleting hides the row and records who deleted it and when.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from observatory.opsdb import OpsDB
from observatory.opsdb.schema import scenarios
from observatory.scenarios.spec import (
    Scenario,
    ScenarioFileError,
    dump_scenario,
    scenario_from_text,
)

LIST_SCHEMA = {"id": pl.Int64(), "name": pl.String(), "edits": pl.Int64(),
               "author": pl.String(), "saved_at": pl.Datetime("us", "UTC")}


def save(ops: OpsDB, scenario: Scenario, *, author: str, subject: str | None = None) -> int:
    """Save `scenario` as a new row; its id."""
    if not scenario.name.strip():
        raise ScenarioFileError("give the scenario a name before saving it.")
    with ops.write() as conn:
        return int(conn.execute(scenarios.insert().values(
            name=scenario.name.strip(), body=dump_scenario(scenario), author=author,
            author_subject=subject, created_at=datetime.now(UTC))
            .returning(scenarios.c.scenario_id)).scalar_one())


def listed(ops: OpsDB) -> pl.DataFrame:
    """The saved scenarios, newest first."""
    with ops.read() as conn:
        rows = conn.execute(sa.select(scenarios).where(scenarios.c.deleted_at.is_(None))
                            .order_by(scenarios.c.created_at.desc(),
                                      scenarios.c.scenario_id.desc())).mappings().all()
    return pl.DataFrame([{"id": r["scenario_id"], "name": r["name"],
                          "edits": len(_parsed(r["body"], r["scenario_id"]).edits),
                          "author": r["author"], "saved_at": r["created_at"]} for r in rows],
                        schema=LIST_SCHEMA)


def opened(ops: OpsDB, scenario_id: int) -> Scenario:
    """The saved scenario `scenario_id`; ScenarioFileError when there is none."""
    with ops.read() as conn:
        body = conn.execute(sa.select(scenarios.c.body).where(
            scenarios.c.scenario_id == scenario_id, scenarios.c.deleted_at.is_(None))
        ).scalar_one_or_none()
    if body is None:
        raise ScenarioFileError(f"no saved scenario {scenario_id} (deleted, or never saved).")
    return _parsed(body, scenario_id)


def duplicate(ops: OpsDB, scenario_id: int, *, author: str, subject: str | None = None) -> int:
    """A copy of a saved scenario, named "… (copy)"; the copy's id."""
    original = opened(ops, scenario_id)
    return save(ops, Scenario(name=f"{original.name} (copy)", edits=original.edits,
                              speed_kmh=original.speed_kmh, minutes=original.minutes),
                author=author, subject=subject)


def delete(ops: OpsDB, scenario_id: int, *, by: str) -> None:
    """Hide a saved scenario (the row stays, with who deleted it and when)."""
    with ops.write() as conn:
        done = conn.execute(scenarios.update().where(
            scenarios.c.scenario_id == scenario_id, scenarios.c.deleted_at.is_(None))
            .values(deleted_by=by, deleted_at=datetime.now(UTC)))
    if done.rowcount != 1:
        raise ScenarioFileError(f"no saved scenario {scenario_id} to delete.")


def _parsed(body: str, scenario_id: int) -> Scenario:
    return scenario_from_text(body, where=Path(f"saved scenario {scenario_id}"))
