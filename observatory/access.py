"""Who is looking and what they may open: roles from a verified identity.

A signed-in person's roles are derived on the server, on every run, from the claims of the
ID token their identity provider signed (Streamlit verifies it at sign-in and keeps the
claims in a signed cookie), never from the URL or anything the browser sends:

- the ID-token claim named by `claim` (default `roles`; e.g. `groups`), its values read as
  role names or mapped through `groups` (provider group name → role);
- the access file's `users` (e-mail → roles) and `domains` (e-mail domain → roles), for
  providers that send no roles;
- grants made with `observatory users grant` (the operational database, `role_grants`).

The union of the three is what the person holds. E-mail based roles need an e-mail the
provider marks verified (`email_verified: true`), unless the access file sets
`trust_unverified_email: true` for providers that send no such claim. With a `groups`
mapping, only mapped group names count. A session older than
`session_hours` (from the token's `iat`) is expired: public portal only until the person
signs in again. Unknown role names are ignored and said so. The access file is
`$OBSERVATORY_ACCESS`, else `access.yml` at the repository root (git-ignored; see
`access.example.yml`); without it, roles come from the `roles` claim and grants only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from observatory.errors import InputError
from observatory.registry.loader import _line_of, read_yaml
from observatory.roles import Role
from observatory.settings import REPO_ROOT

ACCESS_ENV = "OBSERVATORY_ACCESS"
DEFAULT_ACCESS = REPO_ROOT / "access.yml"
STAFF_ROLES = tuple(role for role in Role if role is not Role.PUBLIC)
DEFAULT_SESSION_HOURS = 8.0
_KEYS = ("claim", "groups", "users", "domains", "session_hours", "trust_unverified_email")


class AccessFileError(InputError):
    """The access file is wrong; the message lists every problem with its line."""


@dataclass(frozen=True)
class AccessConfig:
    """Where roles come from besides the grants: the claim, group names, e-mails, domains."""

    claim: str = "roles"
    groups: Mapping[str, Role] = field(default_factory=dict)
    users: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    domains: Mapping[str, frozenset[Role]] = field(default_factory=dict)
    session_hours: float = DEFAULT_SESSION_HOURS
    # providers that send no `email_verified` claim (Microsoft Entra ID): trust their
    # e-mails for e-mail based roles only when the access file says so
    trust_unverified_email: bool = False
    path: Path | None = None

    def file_roles(self, email: str) -> frozenset[Role]:
        """The roles the access file gives `email` (by address and by domain)."""
        email = email.lower()
        domain = email.rpartition("@")[2]
        return self.users.get(email, frozenset()) | self.domains.get(domain, frozenset())


Mode = Literal["anonymous", "signed_in", "demo"]


@dataclass(frozen=True)
class Viewer:
    """The person looking, as the server established it on this run."""

    mode: Mode
    roles: frozenset[Role] = frozenset()  # staff roles; the public portal is open to all
    subject: str | None = None
    email: str | None = None
    name: str | None = None
    provider: str | None = None
    notes: tuple[str, ...] = ()  # why something was not granted (expired, unknown role)

    def holds(self, role: Role) -> bool:
        """True when the viewer may open `role`'s pages (everyone holds the public)."""
        return role is Role.PUBLIC or role in self.roles

    @property
    def label(self) -> str:
        """How pages name the viewer."""
        if self.mode == "demo":
            return "demo visitor"
        return self.name or self.email or self.subject or "visitor"

    @property
    def actor(self) -> str:
        """What the audit trail records as the actor: the e-mail, else the subject."""
        if self.mode == "demo":
            return "demo visitor (sign-in off)"
        return self.email or self.subject or "anonymous"

    @property
    def cache_key(self) -> tuple[str, ...]:
        """The role set as a sorted tuple (data cached for one set is never another's)."""
        return tuple(sorted(role.value for role in self.roles))


ANONYMOUS = Viewer(mode="anonymous")


def access_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The access file: an explicit path, else $OBSERVATORY_ACCESS, else access.yml."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ACCESS_ENV)
    return Path(env).expanduser() if env else DEFAULT_ACCESS


def load_access(path: Path | None = None) -> AccessConfig:
    """The access file's settings (defaults when there is none); AccessFileError listing
    every problem with its line."""
    path = path or access_path()
    if not path.exists():
        return AccessConfig()
    data, lines, problem = read_yaml(path)
    if problem:
        raise AccessFileError(problem)
    problems: list[str] = []

    def add(message: str, *loc: str | int) -> None:
        problems.append(f"{path} line {_line_of(lines, loc, 1)}: {message}")

    body = data if isinstance(data, dict) else {}
    if data is not None and not isinstance(data, dict):
        add("the access file is a mapping with the keys " + ", ".join(_KEYS) + ".")
    for key in body:
        if key not in _KEYS:
            add(f"unknown key `{key}`; the keys are {', '.join(_KEYS)}.", key)
    config = AccessConfig(
        claim=_claim(body.get("claim", "roles"), add),
        groups=_groups(body.get("groups") or {}, add),
        users=_principals(body.get("users") or {}, "users", add),
        domains=_principals(body.get("domains") or {}, "domains", add),
        session_hours=_hours(body.get("session_hours", DEFAULT_SESSION_HOURS), add),
        trust_unverified_email=_flag(body.get("trust_unverified_email", False), add),
        path=path)
    if problems:
        raise AccessFileError("\n".join(problems))
    return config


def _claim(value: object, add: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        add("`claim` is the name of the ID-token claim holding roles, e.g. roles or groups.",
            "claim")
        return "roles"
    return value.strip()


def _flag(value: object, add: Any) -> bool:
    if not isinstance(value, bool):
        add(f"`trust_unverified_email` is true or false (got {value!r}).",
            "trust_unverified_email")
        return False
    return value


def _hours(value: object, add: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        add(f"`session_hours` is a positive number of hours (got {value!r}).", "session_hours")
        return DEFAULT_SESSION_HOURS
    return float(value)


def _role(name: object, add: Any, *loc: str | int) -> Role | None:
    try:
        role = Role(str(name).strip().lower())
    except ValueError:
        role = None
    if role is None or role is Role.PUBLIC:
        add(f"`{name}` is not a role; use one of {', '.join(r.value for r in STAFF_ROLES)} "
            "(the public portal is open to everyone).", *loc)
        return None
    return role


def _groups(body: object, add: Any) -> dict[str, Role]:
    if not isinstance(body, dict):
        add("`groups` maps a provider group name to a role, e.g. `city-analysts: analysts`.",
            "groups")
        return {}
    mapped = {str(group): _role(role, add, "groups", group) for group, role in body.items()}
    return {group: role for group, role in mapped.items() if role is not None}


def _principals(body: object, key: str, add: Any) -> dict[str, frozenset[Role]]:
    example = "alice@city.example" if key == "users" else "city.example"
    if not isinstance(body, dict):
        add(f"`{key}` maps {'an e-mail' if key == 'users' else 'an e-mail domain'} to a list "
            f"of roles, e.g. `{example}: [operations, analysts]`.", key)
        return {}
    out: dict[str, frozenset[Role]] = {}
    for principal, roles in body.items():
        name = str(principal).strip().lower()
        if key == "users" and "@" not in name:
            add(f"`{principal}` is not an e-mail address.", key, principal)
        if key == "domains" and ("@" in name or "." not in name):
            add(f"`{principal}` is not an e-mail domain (write city.example, without @).",
                key, principal)
        listed = roles if isinstance(roles, list) else [roles]
        out[name] = frozenset(r for r in (_role(x, add, key, principal) for x in listed) if r)
    return out


def claim_roles(claims: Mapping[str, Any], config: AccessConfig) -> tuple[set[Role], list[str]]:
    """The roles the ID token's claim gives (role names, or group names mapped), and a note
    for each value that is neither."""
    value = claims.get(config.claim)
    if value is None:
        return set(), []
    values = value.replace(",", " ").split() if isinstance(value, str) else value
    roles, notes = set(), []
    for item in values if isinstance(values, list | tuple) else [values]:
        text = str(item)
        # with a group mapping, only mapped names count: a provider group that happens to
        # be called `analysts` must not grant the role
        role = config.groups.get(text) if config.groups else _known_role(text)
        if role is None:
            notes.append(f"`{text}` in the `{config.claim}` claim is not a role; ignored.")
        else:
            roles.add(role)
    return roles, notes


def _known_role(name: str) -> Role | None:
    try:
        role = Role(name.strip().lower())
    except ValueError:
        return None
    return None if role is Role.PUBLIC else role


def expired(claims: Mapping[str, Any], config: AccessConfig, *, now: float | None = None
            ) -> bool:
    """True when the session began more than `session_hours` ago (from `iat`, else `exp`),
    or carries no time at all."""
    now = time.time() if now is None else now
    issued = claims.get("iat")
    if isinstance(issued, int | float):
        return now > issued + config.session_hours * 3600
    ends = claims.get("exp")
    return not isinstance(ends, int | float) or now > ends


def signed_in_viewer(claims: Mapping[str, Any], config: AccessConfig,
                     grants: Iterable[Role] = (), *, now: float | None = None) -> Viewer:
    """The viewer a verified identity makes: its roles, or none when its session expired.

    `grants` are the roles granted by hand to the person's e-mail or domain.
    """
    email = str(claims.get("email") or "").strip().lower() or None
    who = {"subject": str(claims.get("sub") or "") or None, "email": email,
           "name": str(claims.get("name") or "") or None,
           "provider": str(claims.get("provider") or "") or None}
    if expired(claims, config, now=now):
        return Viewer(mode="anonymous", notes=(
            f"Your session is older than {config.session_hours:g} hours: sign in again.",),
            **who)
    roles, notes = claim_roles(claims, config)
    verified = claims.get("email_verified") in (True, "true") or config.trust_unverified_email
    if email and not verified:
        notes.append("Your provider has not confirmed that your e-mail address is verified, "
                     "so roles given to e-mail addresses do not apply.")
    elif email:
        roles |= config.file_roles(email) | set(grants)
    return Viewer(mode="signed_in", roles=frozenset(roles), notes=tuple(notes), **who)
