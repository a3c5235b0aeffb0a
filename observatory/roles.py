"""Who is looking: the roles the dashboard serves and what each may see.

The roles a person holds come from their verified identity (observatory/access.py), or
from the demo switcher in `observatory demo`. Every view takes the role of the page shown
as an argument and filters by it.
"""

from __future__ import annotations

from enum import StrEnum

from observatory.errors import InputError, UnknownIndicatorError


class Role(StrEnum):
    """An audience of the dashboard; the value is what URLs and session state carry."""

    OFFICIALS = "officials"
    OPERATIONS = "operations"
    PUBLIC = "public"
    ANALYSTS = "analysts"
    PLANNERS = "planners"

    @property
    def label(self) -> str:
        """The role as people read it."""
        return ROLE_LABELS[self]

    @property
    def sees_internal(self) -> bool:
        """True when the role may see indicators marked `visibility: internal`."""
        return self is not Role.PUBLIC

    @property
    def disclosure_controlled(self) -> bool:
        """True when small cells are suppressed before data reaches this role."""
        return self is Role.PUBLIC


ROLE_LABELS: dict[Role, str] = {
    Role.OFFICIALS: "Officials",
    Role.OPERATIONS: "Operations",
    Role.PUBLIC: "Public portal",
    Role.ANALYSTS: "Analysts",
    Role.PLANNERS: "Planners",
}
DEFAULT_ROLE = Role.PUBLIC


class UnknownRoleError(InputError, ValueError):
    """A role name that is not one of `Role`."""


class IndicatorNotVisibleError(UnknownIndicatorError):
    """An indicator exists but the role may not see it.

    It reads like an unknown indicator on purpose: the public must not learn which
    internal indicators exist.
    """


def role_from_name(name: str | None, *, default: Role | None = DEFAULT_ROLE) -> Role:
    """The role called `name`; `default` when `name` is empty (raise if `default` is None)."""
    if not name:
        if default is None:
            raise UnknownRoleError("no role given; choose one of " + _choices() + ".")
        return default
    try:
        return Role(name.strip().lower())
    except ValueError:
        raise UnknownRoleError(f"unknown role `{name}`; choose one of {_choices()}.") from None


def can_see(role: Role, *, visibility: str) -> bool:
    """True when `role` may see something published with `visibility`."""
    return visibility == "public" or role.sees_internal


def _choices() -> str:
    return ", ".join(f"`{r.value}`" for r in Role)
