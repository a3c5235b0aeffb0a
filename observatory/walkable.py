"""Which OpenStreetMap ways people walk on, and which of them are at ground level: one rule.

The walking graph is built from these tags and nothing else (the OSM connector applies
`walkable_ways` to every way it reads; the methodology page shows `RULE_LINES`).

A way is walkable when

1. it is a way made for walking or a street: `highway` is one of `WALK_HIGHWAYS`
   (footway, pedestrian, path, steps, living_street, residential and the other streets);
2. or a cycleway that allows feet: `highway=cycleway` with `foot` yes, designated or
   permissive;
3. or a platform: `highway=platform`, `railway=platform` or `public_transport=platform`;

and nothing closes it:

- `foot=no` or `foot=private` closes it (the most specific access tag decides, as in OSM's
  access hierarchy: `access=no` with `foot=yes` stays open; `access=no` or
  `access=private` without a `foot` tag closes it);
- motorways and motorway links, ways under construction or only proposed, and roads for
  buses only are never walkable, whatever `foot` says;
- `area=yes` is kept only for pedestrian areas, footways and platforms (walked along
  their outline); other areas are not ways.

A way is at ground level unless it is a tunnel (`tunnel=building_passage` is at ground
level), lies on another `layer` than 0, or is indoors (`indoor`, `highway=corridor`).
Points snap to ground-level ways first and to the others only when no ground-level way
lies within the snap limit, so a building above a metro tunnel joins the street.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

WALK_HIGHWAYS = frozenset({
    "footway", "pedestrian", "path", "steps", "living_street", "residential", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary",
    "primary_link", "trunk", "trunk_link", "road", "track", "bridleway", "corridor",
    "crossing", "trail", "elevator",
})
PLATFORM_HIGHWAYS = frozenset({"platform"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
CLOSED = frozenset({"no", "private"})
NEVER_WALKED = frozenset({"motorway", "motorway_link", "construction", "proposed", "planned",
                          "abandoned", "razed", "no", "raceway", "bus_guideway", "busway"})
AREA_WALKED = frozenset({"pedestrian", "footway", "platform"})
# The tags the rule reads: the connector keeps these columns for every way.
TAGS: tuple[str, ...] = ("highway", "foot", "access", "area", "railway", "public_transport",
                         "tunnel", "layer", "indoor")

RULE_LINES: tuple[str, ...] = (
    "Walkable: footway, pedestrian, path, steps, living_street, residential, service, "
    "unclassified, tertiary, secondary, primary and trunk streets (and their links), tracks, "
    "bridleways, corridors, crossings and elevators.",
    "Walkable: cycleways tagged foot=yes, foot=designated or foot=permissive.",
    "Walkable: platforms (highway=platform, railway=platform, public_transport=platform).",
    "Not walkable: foot=no or foot=private; access=no or access=private unless foot allows "
    "it; motorways; ways under construction or proposed; bus-only roads; areas other than "
    "pedestrian areas, footways and platforms (those are walked along their outline).",
    "Ground level: every walkable way but tunnels (a building passage is at ground level), "
    "ways on another layer than 0 and indoor ways. Points join ground-level ways first.",
)


def _value(tags: Mapping[str, object], key: str) -> str | None:
    value = tags.get(key)
    if value is None or (isinstance(value, float) and value != value):  # NaN from pandas
        return None
    return str(value).strip().lower() or None


def _values(tags: Mapping[str, object], key: str) -> set[str]:
    """A tag's values, split on `;` (OSM's multi-value separator)."""
    value = _value(tags, key)
    return {v.strip() for v in value.split(";")} if value else set()


def _kind_walkable(tags: Mapping[str, object]) -> bool:
    highway = _value(tags, "highway")
    foot = _values(tags, "foot")
    if highway in WALK_HIGHWAYS or highway in PLATFORM_HIGHWAYS:
        return True
    if highway == "cycleway":
        return bool(foot & FOOT_ALLOWED)
    return highway is None and _platform(tags)


def _closed(tags: Mapping[str, object]) -> bool:
    highway = _value(tags, "highway")
    if highway in NEVER_WALKED:
        return True
    if _value(tags, "area") == "yes" and highway not in AREA_WALKED and not _platform(tags):
        return True
    foot = _values(tags, "foot")
    if foot:  # the most specific access tag decides
        return bool(foot & CLOSED) and not foot & FOOT_ALLOWED
    return bool(_values(tags, "access") & CLOSED)


def _platform(tags: Mapping[str, object]) -> bool:
    return "platform" in (_values(tags, "railway") | _values(tags, "public_transport"))


def is_walkable(tags: Mapping[str, object]) -> bool:
    """Whether a way with these tags belongs to the walking graph (see the module's rule)."""
    return _kind_walkable(tags) and not _closed(tags)


def is_ground_level(tags: Mapping[str, object]) -> bool:
    """Whether a way lies at ground level: no tunnel, layer 0 and outdoors."""
    tunnel = _value(tags, "tunnel")
    if tunnel not in (None, "no", "building_passage"):
        return False
    layer = _value(tags, "layer")
    try:
        if layer is not None and float(layer) != 0:
            return False
    except ValueError:
        pass  # an unreadable layer (`-1;0`) says nothing reliable: treat as ground
    if _value(tags, "indoor") not in (None, "no"):
        return False
    return _value(tags, "highway") != "corridor"


def walkable_ways(frame: pl.DataFrame) -> pl.DataFrame:
    """The rule applied to a frame of ways with the `TAGS` columns (missing ones are null).

    Adds `walkable` and `ground_level`; the rule runs once per distinct combination of
    tags, so a city of a million segments costs a few thousand calls.
    """
    missing = [t for t in TAGS if t not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(t) for t in missing)
    combos = frame.select(pl.col(t).cast(pl.String) for t in TAGS).unique()
    rows = combos.to_dicts()
    flags = combos.with_columns(
        pl.Series("walkable", [is_walkable(r) for r in rows], dtype=pl.Boolean),
        pl.Series("ground_level", [is_ground_level(r) for r in rows], dtype=pl.Boolean),
    )
    keyed = frame.with_columns(pl.col(t).cast(pl.String).alias(f"_k_{t}") for t in TAGS)
    joined = keyed.join(flags.rename({t: f"_k_{t}" for t in TAGS}),
                        on=[f"_k_{t}" for t in TAGS], how="left", nulls_equal=True)
    return joined.drop([f"_k_{t}" for t in TAGS])
