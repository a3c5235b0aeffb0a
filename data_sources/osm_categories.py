"""Which OpenStreetMap tags make a point of interest part of which service category.

The first matching rule wins, in the order below. `pt_capacity` follows SDG 11.2.1:
`low` for bus and tram, `high` for rail, metro and ferry. The categories themselves (names
and labels) are the store's vocabulary, in observatory/service_categories.py.
"""

from __future__ import annotations

from collections.abc import Mapping

# (tag key, tag values, category); values None means any value.
RULES: tuple[tuple[str, frozenset[str] | None, str], ...] = (
    ("amenity", frozenset({"pharmacy"}), "pharmacy"),
    ("healthcare", frozenset({"pharmacy"}), "pharmacy"),
    ("shop", frozenset({
        "supermarket", "convenience", "greengrocer", "grocery", "butcher", "bakery",
        "deli", "cheese", "seafood", "frozen_food", "health_food", "food",
    }), "grocery"),
    ("amenity", frozenset({"marketplace"}), "grocery"),
    ("amenity", frozenset({"school", "college"}), "school"),
    ("amenity", frozenset({"hospital", "clinic", "doctors", "dentist"}), "healthcare"),
    ("healthcare", None, "healthcare"),
    ("leisure", frozenset({
        "park", "garden", "playground", "nature_reserve", "common", "dog_park",
    }), "park"),
    ("landuse", frozenset({"recreation_ground", "village_green"}), "park"),
    ("highway", frozenset({"bus_stop"}), "public_transport"),
    ("railway", frozenset({"station", "halt", "tram_stop", "subway_entrance"}), "public_transport"),
    ("amenity", frozenset({"ferry_terminal", "bus_station"}), "public_transport"),
    ("public_transport", frozenset({"station", "platform"}), "public_transport"),
    ("amenity", frozenset({
        "library", "theatre", "arts_centre", "cinema", "community_centre",
    }), "culture_library"),
    ("tourism", frozenset({"museum", "gallery"}), "culture_library"),
    ("leisure", frozenset({
        "sports_centre", "pitch", "fitness_centre", "swimming_pool", "stadium", "track",
        "fitness_station", "ice_rink",
    }), "sport"),
)

# Tags pyrosm must read for the rules above.
POI_FILTER: dict[str, bool] = {
    key: True for key in sorted({rule[0] for rule in RULES})
}

HIGH_CAPACITY_RAILWAY = frozenset({"station", "halt", "subway_entrance"})


def classify(tags: Mapping[str, object]) -> tuple[str, str] | None:
    """The (category, `key=value`) of the first rule the tags match, or None."""
    for key, values, category in RULES:
        value = tags.get(key)
        if not isinstance(value, str) or not value:
            continue
        if values is None or value in values:
            return category, f"{key}={value}"
    return None


def pt_capacity(tags: Mapping[str, object]) -> str | None:
    """`high` (rail, metro, ferry), `low` (bus, tram) or None for a non-transport POI."""
    railway = tags.get("railway")
    if railway in HIGH_CAPACITY_RAILWAY or tags.get("amenity") == "ferry_terminal":
        return "high"
    if tags.get("station") in {"subway", "train"} or tags.get("subway") == "yes":
        return "high"
    if railway == "tram_stop" or tags.get("highway") == "bus_stop":
        return "low"
    if tags.get("amenity") == "bus_station" or tags.get("public_transport"):
        return "low"
    return None
