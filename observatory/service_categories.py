"""The service categories of `osm_pois.category`: names and labels.

The store's vocabulary, shared by whatever classifies points of interest into it (the OSM
connector's tag rules, data_sources/osm_categories.py) and what measures access to it
(observatory.accessibility).
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "grocery",
    "school",
    "healthcare",
    "pharmacy",
    "park",
    "public_transport",
    "culture_library",
    "sport",
)

CATEGORY_LABELS: dict[str, str] = {
    "grocery": "Grocery store",
    "school": "School",
    "healthcare": "Healthcare",
    "pharmacy": "Pharmacy",
    "park": "Park or open space",
    "public_transport": "Public-transport stop",
    "culture_library": "Culture or library",
    "sport": "Sport facility",
}
