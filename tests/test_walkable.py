"""The walkable-ways rule: each tag case, the vectorised form and the Helsinki extract."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.walkable import TAGS, is_ground_level, is_walkable, walkable_ways

WALKED = [
    {"highway": "footway"}, {"highway": "pedestrian"}, {"highway": "path"},
    {"highway": "steps"}, {"highway": "living_street"}, {"highway": "residential"},
    {"highway": "service"}, {"highway": "primary"}, {"highway": "secondary_link"},
    {"highway": "track"}, {"highway": "corridor"},
    {"highway": "cycleway", "foot": "yes"}, {"highway": "cycleway", "foot": "designated"},
    {"highway": "cycleway", "foot": "permissive"},
    {"highway": "platform"}, {"railway": "platform"}, {"public_transport": "platform"},
    {"railway": "platform", "area": "yes"}, {"highway": "pedestrian", "area": "yes"},
    {"highway": "residential", "access": "no", "foot": "yes"},
    {"highway": "service", "access": "private", "foot": "designated"},
    {"highway": "residential", "sidewalk": "separate"},
    {"highway": "footway", "tunnel": "yes", "layer": "-1"},
    {"highway": "footway", "foot": "no;yes"},  # a value that allows feet
]
NOT_WALKED = [
    {"highway": "cycleway"}, {"highway": "cycleway", "foot": "no"},
    {"highway": "footway", "foot": "no"}, {"highway": "footway", "foot": "private"},
    {"highway": "residential", "access": "private"}, {"highway": "service", "access": "no"},
    {"highway": "service", "access": "private;delivery"},
    {"highway": "motorway"}, {"highway": "motorway_link", "foot": "yes"},
    {"highway": "construction"}, {"highway": "proposed"}, {"highway": "busway"},
    {"highway": "service", "area": "yes"}, {"railway": "rail"}, {"building": "yes"},
    {"highway": None, "railway": None},
]


@pytest.mark.parametrize("tags", WALKED, ids=lambda t: ",".join(f"{k}={v}" for k, v in t.items()))
def test_ways_people_walk_are_walkable(tags: dict[str, str]) -> None:
    assert is_walkable(tags)


@pytest.mark.parametrize("tags", NOT_WALKED,
                         ids=lambda t: ",".join(f"{k}={v}" for k, v in t.items()))
def test_closed_or_unwalked_ways_are_not(tags: dict[str, str | None]) -> None:
    assert not is_walkable(tags)


@pytest.mark.parametrize(("tags", "ground"), [
    ({"highway": "residential"}, True),
    ({"highway": "service", "tunnel": "yes", "layer": "-4"}, False),
    ({"highway": "footway", "tunnel": "building_passage"}, True),
    ({"highway": "footway", "layer": "1", "bridge": "yes"}, False),
    ({"highway": "footway", "layer": "0"}, True),
    ({"highway": "corridor"}, False),
    ({"highway": "footway", "indoor": "yes"}, False),
    ({"highway": "footway", "layer": "-1;0"}, True),  # unreadable: not taken as underground
])
def test_ground_level(tags: dict[str, str], ground: bool) -> None:
    assert is_ground_level(tags) is ground


_VALUES = {
    "highway": [None, "footway", "cycleway", "residential", "motorway", "platform", "service",
                "construction"],
    "foot": [None, "yes", "no", "designated", "private"],
    "access": [None, "no", "private", "yes"],
    "area": [None, "yes"],
    "railway": [None, "platform", "rail"],
    "public_transport": [None, "platform"],
    "tunnel": [None, "yes", "building_passage"],
    "layer": [None, "-1", "0", "1"],
    "indoor": [None, "yes"],
}


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _VALUES.items()}),
                     min_size=1, max_size=40))
def test_the_frame_form_applies_the_same_rule_row_by_row(rows: list[dict[str, str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={t: pl.String for t in TAGS})
    out = walkable_ways(frame.with_row_index("row")).sort("row")
    assert out["walkable"].to_list() == [is_walkable(r) for r in rows]
    assert out["ground_level"].to_list() == [is_ground_level(r) for r in rows]


def test_missing_tag_columns_count_as_untagged() -> None:
    out = walkable_ways(pl.DataFrame({"highway": ["footway", "cycleway"]}))
    assert out["walkable"].to_list() == [True, False]
