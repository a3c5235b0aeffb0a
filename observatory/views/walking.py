"""How walks are computed, for the methodology: the method, the walkable-ways rule, changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from observatory.service_categories import CATEGORY_LABELS
from observatory.walkable import RULE_LINES

if TYPE_CHECKING:
    from observatory.accessibility import MethodChange


@dataclass(frozen=True)
class ChangeNote:
    """One change of method: when, what, why, and residents within 15 minutes before/after."""

    date: str
    what: str
    why: str
    residents: pl.DataFrame


@dataclass(frozen=True)
class WalkingMethod:
    """The walking method as published: text, the tag rule and what changed."""

    text: str
    rules: tuple[str, ...]
    changes: tuple[ChangeNote, ...]


def walking_method() -> WalkingMethod:
    """The method, the walkable-ways rule and every change note, newest first."""
    # here, not at the top: the accessibility package loads the walking-network code, which
    # every other view (and the command line that lists datasets) does without
    from observatory.accessibility import CHANGES, METHOD_TEXT

    return WalkingMethod(text=METHOD_TEXT, rules=RULE_LINES,
                         changes=tuple(_note(c) for c in reversed(CHANGES)))


def _note(change: MethodChange) -> ChangeNote:
    rows = [{
        "service": CATEGORY_LABELS.get(category, category),
        "before_4_8_kmh": before[0], "after_4_8_kmh": after[0],
        "change_4_8_kmh": after[0] - before[0],
        "before_3_6_kmh": before[1], "after_3_6_kmh": after[1],
        "change_3_6_kmh": after[1] - before[1],
    } for category, (before, after) in change.residents_within_15min.items()]
    return ChangeNote(date=change.date, what=change.what, why=change.why,
                      residents=pl.DataFrame(rows))


def population_method() -> str:
    """How residents are modelled when no population grid is loaded."""
    from observatory.population import METHOD_TEXT

    return METHOD_TEXT
