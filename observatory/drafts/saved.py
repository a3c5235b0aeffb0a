"""Drafts in the operational database: create, save a new version, list, open, comment.

Every save is one short transaction that records who saved what and when. A save names
the version it was based on: when someone else saved a newer version meanwhile, the save
is refused with who and when (nothing is overwritten); saving the same text again
records nothing new. The (draft, version) key makes a lost race fail, never duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy import exc

from observatory.errors import InputError
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import (
    indicator_draft_comments as comments_table,
)
from observatory.opsdb.schema import (
    indicator_draft_versions as versions_table,
)
from observatory.opsdb.schema import (
    indicator_drafts as drafts_table,
)

LIST_SCHEMA = {"id": pl.Int64(), "name": pl.String(), "theme": pl.String(),
               "versions": pl.Int64(), "author": pl.String(), "last_saved_by": pl.String(),
               "saved_at": pl.Datetime("us", "UTC"), "comments": pl.Int64()}


class DraftError(InputError, ValueError):
    """A draft that does not exist, or a save refused: the message says why and what to do."""


@dataclass(frozen=True)
class DraftVersion:
    """One saved version of a draft: the definition's YAML, its SQL, who saved it, when."""

    draft_id: int
    version: int
    name: str
    definition: str
    query: str
    author: str
    saved_at: datetime


def create(ops: OpsDB, *, name: str, theme: str, definition: str, query: str, author: str,
           subject: str | None = None) -> DraftVersion:
    """A new draft with its first version."""
    now = datetime.now(UTC)
    with ops.write() as conn:
        draft_id = int(conn.execute(drafts_table.insert().values(
            name=name, theme=theme, author=author, author_subject=subject, created_at=now)
            .returning(drafts_table.c.draft_id)).scalar_one())
        conn.execute(versions_table.insert().values(
            draft_id=draft_id, version=1, name=name, definition=definition, query=query,
            author=author, author_subject=subject, saved_at=now))
    return DraftVersion(draft_id, 1, name, definition, query, author, now)


def save(ops: OpsDB, draft_id: int, *, based_on: int, name: str, theme: str, definition: str,
         query: str, author: str, subject: str | None = None) -> DraftVersion:
    """Save a new version of `draft_id` made from version `based_on`; the saved version
    (the current one, unchanged, when the text is the same). DraftError when someone
    saved a newer version meanwhile, or the draft does not exist."""
    now = datetime.now(UTC)
    try:
        with ops.write() as conn:
            ops.serialize(conn, f"draft:{draft_id}")
            latest = _latest(conn, draft_id)
            if (latest.definition, latest.query) == (definition, query):
                return latest
            if latest.version != based_on:
                raise DraftError(
                    f"draft {draft_id}: version {latest.version} was saved by {latest.author} "
                    f"at {latest.saved_at:%Y-%m-%d %H:%M} UTC after the version {based_on} "
                    "you edited; nothing was saved. Open the latest version, apply your "
                    "change to it and save again.")
            version = latest.version + 1
            conn.execute(versions_table.insert().values(
                draft_id=draft_id, version=version, name=name, definition=definition,
                query=query, author=author, author_subject=subject, saved_at=now))
            conn.execute(drafts_table.update().where(drafts_table.c.draft_id == draft_id)
                         .values(name=name, theme=theme))
    except exc.IntegrityError:  # a concurrent save took the same version number
        raise DraftError(f"draft {draft_id}: someone saved a new version at the same moment; "
                         "nothing was saved. Open the latest version and save again.") from None
    return DraftVersion(draft_id, version, name, definition, query, author, now)


def _latest(conn: sa.Connection, draft_id: int, version: int | None = None) -> DraftVersion:
    query = (sa.select(versions_table).join(
        drafts_table, drafts_table.c.draft_id == versions_table.c.draft_id)
        .where(versions_table.c.draft_id == draft_id, drafts_table.c.deleted_at.is_(None)))
    if version is not None:
        query = query.where(versions_table.c.version == version)
    row = conn.execute(query.order_by(versions_table.c.version.desc()).limit(1)
                       ).mappings().first()
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise DraftError(f"no draft {draft_id}{which} (deleted, or never saved); "
                         "`observatory indicators drafts` lists them.")
    return DraftVersion(row["draft_id"], row["version"], row["name"], row["definition"],
                        row["query"], row["author"], row["saved_at"])


def opened(ops: OpsDB, draft_id: int, version: int | None = None) -> DraftVersion:
    """A draft's latest version (or the given one); DraftError when there is none."""
    with ops.read() as conn:
        return _latest(conn, draft_id, version)


def listed(ops: OpsDB) -> pl.DataFrame:
    """Every draft, most recently saved first: its name, theme, number of versions, who
    started it, who saved last and when, and how many comments it has."""
    latest = (sa.select(versions_table.c.draft_id,
                        sa.func.max(versions_table.c.version).label("versions"))
              .group_by(versions_table.c.draft_id).subquery())
    counted = (sa.select(comments_table.c.draft_id, sa.func.count().label("comments"))
               .group_by(comments_table.c.draft_id).subquery())
    query = (sa.select(drafts_table.c.draft_id, drafts_table.c.name, drafts_table.c.theme,
                       latest.c.versions, drafts_table.c.author,
                       versions_table.c.author.label("last_saved_by"),
                       versions_table.c.saved_at, counted.c.comments)
             .join(latest, latest.c.draft_id == drafts_table.c.draft_id)
             .join(versions_table, sa.and_(versions_table.c.draft_id == latest.c.draft_id,
                                           versions_table.c.version == latest.c.versions))
             .outerjoin(counted, counted.c.draft_id == drafts_table.c.draft_id)
             .where(drafts_table.c.deleted_at.is_(None))
             .order_by(versions_table.c.saved_at.desc(), drafts_table.c.draft_id.desc()))
    with ops.read() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame([(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] or 0) for r in rows],
                        schema=LIST_SCHEMA, orient="row")


def versions(ops: OpsDB, draft_id: int) -> pl.DataFrame:
    """A draft's versions, newest first: number, name, who saved it and when."""
    with ops.read() as conn:
        rows = conn.execute(sa.select(versions_table.c.version, versions_table.c.name,
                                      versions_table.c.author, versions_table.c.saved_at)
                            .where(versions_table.c.draft_id == draft_id)
                            .order_by(versions_table.c.version.desc())).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row", schema={
        "version": pl.Int64(), "name": pl.String(), "author": pl.String(),
        "saved_at": pl.Datetime("us", "UTC")})


def comment(ops: OpsDB, draft_id: int, *, version: int, body: str, author: str,
            subject: str | None = None) -> None:
    """Add a comment on a version of a draft."""
    if not body.strip():
        raise DraftError("the comment is empty; write something before posting it.")
    with ops.write() as conn:
        _latest(conn, draft_id, version)
        conn.execute(comments_table.insert().values(
            draft_id=draft_id, version=version, body=body.strip(), author=author,
            author_subject=subject, created_at=datetime.now(UTC)))


def comments(ops: OpsDB, draft_id: int) -> pl.DataFrame:
    """A draft's comments, oldest first: on which version, by whom, when, what."""
    with ops.read() as conn:
        rows = conn.execute(sa.select(comments_table.c.version, comments_table.c.author,
                                      comments_table.c.created_at, comments_table.c.body)
                            .where(comments_table.c.draft_id == draft_id)
                            .order_by(comments_table.c.comment_id)).all()
    return pl.DataFrame([tuple(r) for r in rows], orient="row", schema={
        "version": pl.Int64(), "author": pl.String(),
        "at": pl.Datetime("us", "UTC"), "comment": pl.String()})
