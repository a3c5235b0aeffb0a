"""What changed in the walks, and why: the figures published with each change of method.

Figures are residents of the embedded central-Helsinki extract (21,936 modelled
residents) within 15 minutes' walk of each category, computed on the same extract with
the code before and after the change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MethodChange:
    """One change of the walking method: when, what, why, and residents before and after."""

    date: str
    what: str
    why: str
    # category -> ((before at 4.8 km/h, at 3.6 km/h), (after at 4.8 km/h, at 3.6 km/h))
    residents_within_15min: dict[str, tuple[tuple[int, int], tuple[int, int]]]


EDGE_SNAPPING = MethodChange(
    date="2026-12-01",
    what=("Points join the nearest point of the nearest walkable way (ground level first) "
          "instead of the nearest network node, and the walking graph follows one tag rule "
          "(observatory/walkable.py) that keeps cycleways allowing feet and platforms."),
    why=("Against an independent routing engine, our walks were longer in most pairs: a "
         "point beside a street snapped to a node of an underground service road and "
         "detoured through the tunnel, and 85 cycleways open to pedestrians and every "
         "platform were missing. Walks now agree with Valhalla's on the extract's landmarks "
         "(`observatory bench walks`)."),
    residents_within_15min={
        "grocery": ((21936, 21721), (21936, 21936)),
        "school": ((21354, 19403), (21936, 20229)),
        "healthcare": ((20402, 18821), (21146, 19587)),
        "pharmacy": ((19916, 17623), (20794, 19337)),
        "park": ((21586, 21459), (21936, 21936)),
        "public_transport": ((21936, 21936), (21936, 21936)),
        "culture_library": ((21586, 21459), (21936, 21936)),
        "sport": ((21936, 21936), (21936, 21936)),
    },
)
CHANGES: tuple[MethodChange, ...] = (EDGE_SNAPPING,)
