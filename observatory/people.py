"""People in the operational database: who signed in, and roles granted by hand.

`observatory users grant|revoke` records grants to an e-mail address or a whole domain
(`@city.example`) in `role_grants`; each grant and revocation is one short transaction that
either applies or is refused with the reason, and a revoked grant keeps its row (who, when).
Every sign-in to the dashboard updates the person's `users` row (first and last seen, the
roles they held), which is also whom alerts can be assigned to.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa

from observatory.access import STAFF_ROLES, AccessConfig, Viewer
from observatory.errors import InputError
from observatory.opsdb import OpsDB
from observatory.opsdb.schema import alerts, role_grants, users
from observatory.roles import Role

PEOPLE_SCHEMA: dict[str, pl.DataType] = {
    "who": pl.String(), "role": pl.String(), "source": pl.String(),
    "granted_by": pl.String(), "granted_at": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC")}


class GrantError(InputError, ValueError):
    """A grant or revocation that cannot apply; the message says why."""


def principal_of(text: str) -> str:
    """An e-mail address or `@domain`, lower-cased; GrantError for anything else."""
    value = text.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or "." not in domain or " " in value or (local == "" and value[0] != "@"):
        raise GrantError(f"`{text}` is neither an e-mail address (alice@city.example) nor a "
                         "domain written with a leading @ (@city.example).")
    return value


def staff_role(name: str) -> Role:
    """The staff role called `name`; GrantError naming the choices otherwise."""
    try:
        role = Role(name.strip().lower())
    except ValueError:
        role = None
    if role is None or role is Role.PUBLIC:
        raise GrantError(f"`{name}` is not a role that can be granted; use one of "
                         f"{', '.join(r.value for r in STAFF_ROLES)}.")
    return role


def _now() -> datetime:
    return datetime.now(UTC)


def _active(principal: str, role: Role) -> sa.ColumnElement[bool]:
    return sa.and_(role_grants.c.principal == principal, role_grants.c.role == role.value,
                   role_grants.c.revoked_at.is_(None))


def grant(ops: OpsDB, who: str, role_name: str, *, by: str, via: str) -> None:
    """Give `role` to an e-mail address or domain; refused when it is already held."""
    principal, role = principal_of(who), staff_role(role_name)
    with ops.write() as conn:
        held = conn.execute(sa.select(role_grants.c.granted_by, role_grants.c.granted_at)
                            .where(_active(principal, role))).first()
        if held is not None:
            raise GrantError(f"{principal} already holds {role.value} (granted by "
                             f"{held.granted_by} on {held.granted_at:%Y-%m-%d}).")
        conn.execute(role_grants.insert().values(
            principal=principal, role=role.value, granted_by=by, granted_via=via,
            granted_at=_now()))


def revoke(ops: OpsDB, who: str, role_name: str, *, by: str,
           config: AccessConfig | None = None) -> None:
    """End a grant; refused when there is none (saying so if the access file gives it)."""
    principal, role = principal_of(who), staff_role(role_name)
    with ops.write() as conn:
        done = conn.execute(role_grants.update().where(_active(principal, role))
                            .values(revoked_by=by, revoked_at=_now()))
    if done.rowcount == 1:
        return
    from_file = config is not None and role in _file_roles(config, principal)
    where = (f"; it comes from the access file {config.path}: remove it there"
             if from_file and config is not None else "")
    raise GrantError(f"{principal} holds no granted {role.value} role to revoke{where}.")


def _file_roles(config: AccessConfig, principal: str) -> frozenset[Role]:
    if principal.startswith("@"):
        return config.domains.get(principal[1:], frozenset())
    return config.file_roles(principal)


def granted_roles(ops: OpsDB, email: str) -> frozenset[Role]:
    """The roles granted by hand to `email` or to its domain."""
    email = email.strip().lower()
    domain = "@" + email.rpartition("@")[2]
    with ops.read() as conn:
        rows = conn.execute(sa.select(role_grants.c.role).where(
            role_grants.c.principal.in_([email, domain]), role_grants.c.revoked_at.is_(None)))
        names = {row.role for row in rows}
    return frozenset(Role(name) for name in names if name in Role._value2member_map_)


def record_sign_in(ops: OpsDB, viewer: Viewer) -> None:
    """Note that `viewer` (signed in) was seen now, with the roles they hold."""
    if viewer.mode != "signed_in" or not viewer.subject:
        return
    provider, now = viewer.provider or "default", _now()
    roles = ",".join(viewer.cache_key)
    with ops.write() as conn:
        key = sa.and_(users.c.provider == provider, users.c.subject == viewer.subject)
        changed = conn.execute(users.update().where(key).values(
            email=viewer.email, name=viewer.name, roles=roles, last_seen=now))
        if changed.rowcount == 0:
            conn.execute(users.insert().values(
                provider=provider, subject=viewer.subject, email=viewer.email,
                name=viewer.name, roles=roles, first_seen=now, last_seen=now))


def people(ops: OpsDB, config: AccessConfig) -> pl.DataFrame:
    """Who holds which role and why: access-file entries, grants, and the roles people held
    when they last signed in (from their identity provider's claim or the above)."""
    rows: list[dict[str, object]] = []
    where = str(config.path) if config.path else "access file"
    for email, roles in sorted(config.users.items()):
        rows += [{"who": email, "role": r.value, "source": where} for r in sorted(roles)]
    for domain, roles in sorted(config.domains.items()):
        rows += [{"who": "@" + domain, "role": r.value, "source": where} for r in sorted(roles)]
    with ops.read() as conn:
        for row in conn.execute(sa.select(role_grants).where(role_grants.c.revoked_at.is_(None))
                                .order_by(role_grants.c.principal, role_grants.c.role)):
            rows.append({"who": row.principal, "role": row.role,
                         "source": f"granted ({row.granted_via})",
                         "granted_by": row.granted_by, "granted_at": row.granted_at})
        for row in conn.execute(sa.select(users).order_by(users.c.email, users.c.subject)):
            rows += [{"who": row.email or row.subject, "role": role,
                      "source": f"signed in ({row.provider})", "last_seen": row.last_seen}
                     for role in (row.roles.split(",") if row.roles else [])]
    return people_frame(rows)


def people_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Rows of `people` as a frame (also the empty one)."""
    return pl.DataFrame(rows, schema=PEOPLE_SCHEMA)


def assignees(ops: OpsDB) -> list[str]:
    """Whom an alert can be assigned to: the teams owning rules and the people who signed
    in, teams first."""
    with ops.read() as conn:
        teams = sorted({r[0] for r in conn.execute(sa.select(alerts.c.owner_team).distinct())})
        emails = sorted({r[0] for r in conn.execute(sa.select(users.c.email)) if r[0]})
    return teams + emails
