"""What accessibility is measured to: the service targets, speeds and cutoffs.

A target is a set of points of interest that one shortest-path run reaches from: the
eight service categories of `observatory.service_categories`, plus public-transport stops
split by capacity for SDG 11.2.1. The indicator definitions under
indicators/accessibility/ restate the speeds and cutoffs as bound `$parameters`; the
values here are what the store's map table `walk_access_cells` is computed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from observatory.service_categories import CATEGORIES, CATEGORY_LABELS

WALK_SPEED_KMH = 4.8  # an adult's usual walking pace
SLOW_WALK_SPEED_KMH = 3.6  # equity variant: older people, reduced mobility
SPEEDS_KMH: dict[str, float] = {"walk": WALK_SPEED_KMH, "slow_walk": SLOW_WALK_SPEED_KMH}
MAX_MINUTES = 15.0
# Every shortest-path run stops here; farther services count as "not reached within the
# limit" (NULL distance). It must cover the longest cutoff any indicator asks for:
# 30 capped minutes at 4.8 km/h is 2,400 m.
SEARCH_LIMIT_M = 3_000.0
SOURCE_ID = "derived:walk_access"


@dataclass(frozen=True)
class Target:
    """One set of services: POIs of `category`, optionally of one public-transport capacity.

    `source` says where its points come from: OpenStreetMap POIs, or GTFS stops with at
    least FREQUENT_DEPARTURES_PER_HOUR in the morning peak (only when a feed is loaded).
    """

    name: str
    category: str
    label: str
    pt_capacity: str | None = None
    source: str = "osm"


# SDG 11.2.1 "convenient" public transport, frequency criterion: a stop counts when it has
# at least this many departures per hour on average over the morning peak of the feed's
# representative weekday (one every 20 minutes).
FREQUENT_DEPARTURES_PER_HOUR = 3
MORNING_PEAK_HOURS = (7, 8)  # 07:00-09:00


TARGETS: tuple[Target, ...] = (
    *(Target(name=c, category=c, label=CATEGORY_LABELS[c]) for c in CATEGORIES),
    Target(name="public_transport_low", category="public_transport", pt_capacity="low",
           label="Low-capacity public-transport stop (bus, tram)"),
    Target(name="public_transport_high", category="public_transport", pt_capacity="high",
           label="High-capacity public-transport stop (rail, metro, ferry)"),
    Target(name="frequent_transit_low", category="frequent_transit", pt_capacity="low",
           source="gtfs", label="Frequent bus or tram stop (GTFS, ≥ 3 departures an hour "
           "in the morning peak)"),
    Target(name="frequent_transit_high", category="frequent_transit", pt_capacity="high",
           source="gtfs", label="Frequent rail, metro or ferry stop (GTFS, ≥ 3 departures an "
           "hour in the morning peak)"),
)
TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in TARGETS)
# The targets every store with an OSM extract has (the GTFS ones need a feed).
OSM_TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in TARGETS if t.source == "osm")

# The social functions of the 15-minute city (Moreno et al. 2021) that the composite score
# counts, with the categories that fulfil each. A function is reached when any of its
# categories is. Restated in indicators/accessibility/fifteen_minute_score.sql.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "supplying": ("grocery",),
    "caring": ("healthcare", "pharmacy"),
    "learning": ("school",),
    "enjoying": ("culture_library", "sport"),
    "public_transport": ("public_transport",),
    "open_space": ("park",),
}


def target_named(name: str) -> Target:
    """The target called `name`; InputError listing the others when there is none."""
    from observatory.errors import InputError

    for target in TARGETS:
        if target.name == name:
            return target
    raise InputError(f"no accessibility target `{name}`; known: {', '.join(TARGET_NAMES)}.")


def cutoff_m(*, speed_kmh: float, minutes: float) -> float:
    """Metres walked in `minutes` at `speed_kmh`."""
    return speed_kmh * 1000.0 / 60.0 * minutes


def uncertain_companion(name: str) -> str:
    """The indicator counting the residents that `name` leaves out as uncertain.

    `grocery_15min_walk_share` -> `grocery_15min_walk_uncertain_share`,
    `fifteen_minute_score_index` -> `fifteen_minute_score_uncertain_share`,
    `grocery_walk_minutes` -> `grocery_walk_minutes_uncertain_share`.
    """
    for suffix in ("_share", "_index"):
        if name.endswith(suffix):
            return f"{name.removesuffix(suffix)}_uncertain_share"
    return f"{name}_uncertain_share"
