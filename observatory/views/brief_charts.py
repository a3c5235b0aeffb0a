"""The council brief's pictures as SVG: trend with its forecast fan, and one map.

Plain SVG text, drawn from the same views as the pages (observatory/views/trends.py) and
coloured by the same classes as every map (observatory/views/colours.py), so the HTML
brief inlines them and Typst embeds them in the PDF without any plotting library or file.
"""

from __future__ import annotations

import html
import math
from collections import Counter

import h3

from observatory.formatting import value_to_text
from observatory.views.colours import NO_VALUE_RGBA, VIRIDIS, legend_labels, scale_of
from observatory.views.model import CellMap
from observatory.views.trends import Trend

FAN = VIRIDIS[3]  # the app's primary colour
TARGET = "#d62728"
_FONT = "font-family='DejaVu Sans, Helvetica, sans-serif'"


def _points(pairs: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)


def _svg(width: int, height: int, parts: list[str]) -> str:
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}'>" + "".join(parts) + "</svg>")


def _text(x: float, y: float, text: str, *, size: float = 8, anchor: str = "start",
          fill: str = "#333") -> str:
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
            f"fill='{fill}' {_FONT}>{html.escape(text)}</text>")


def fan_svg(trend: Trend, *, unit: str, width: int = 250, height: int = 130) -> str:
    """History (dots and line), forecast mean (dashed) with 80 % and 95 % fans, and the
    target as a dashed red line, with the first and last period and the value range
    (numbers by the formatting rule of `unit`, the indicator's unit code)."""
    history = list(zip(trend.history["period"].to_list(), trend.history["value"].to_list(),
                       strict=True))
    history = [(p, v) for p, v in history if v is not None]
    forecast = trend.forecast.to_dicts()
    if len(history) < 2:
        return ""
    periods = [p for p, _ in history] + [str(r["period"]) for r in forecast]
    target = trend.status.get("target_value")
    floor = 0.0 if min(v for _, v in history) >= 0 else None
    values = [v for _, v in history] + [b for r in forecast for b in (r["lo95"], r["hi95"])
                                        if b is not None]
    values += [float(target)] if isinstance(target, int | float) else []  # type: ignore[list-item]
    low, high = min(values), max(values)
    low = max(low, floor) if floor is not None else low
    span = (high - low) or 1.0
    left, right, top, bottom = 34, 6, 6, 16

    def x(i: int) -> float:
        return left + i / max(len(periods) - 1, 1) * (width - left - right)

    def y(v: float) -> float:
        v = max(v, floor) if floor is not None else v
        return top + (high - v) / span * (height - top - bottom)

    parts = []
    start = len(history) - 1
    if forecast:
        for level, alpha in ((95, 0.15), (80, 0.3)):
            upper = [(x(start), y(history[-1][1]))] + [
                (x(start + 1 + k), y(r[f"hi{level}"])) for k, r in enumerate(forecast)]
            lower = [(x(start + 1 + k), y(r[f"lo{level}"])) for k, r in enumerate(forecast)]
            lower = lower[::-1] + [(x(start), y(history[-1][1]))]
            parts.append(f"<polygon points='{_points(upper + lower)}' fill='{FAN}' "
                         f"fill-opacity='{alpha}' stroke='none'/>")
        mean = [(x(start), y(history[-1][1]))] + [
            (x(start + 1 + k), y(r["mean"])) for k, r in enumerate(forecast)]
        parts.append(f"<polyline points='{_points(mean)}' fill='none' stroke='{FAN}' "
                     f"stroke-width='1.4' stroke-dasharray='3,2'/>")
    if isinstance(target, int | float):
        ty = y(float(target))
        parts.append(f"<line x1='{left}' x2='{width - right}' y1='{ty:.1f}' y2='{ty:.1f}' "
                     f"stroke='{TARGET}' stroke-width='1' stroke-dasharray='4,2'/>")
        parts.append(_text(width - right, ty - 2, "target", size=7, anchor="end",
                           fill=TARGET))
    seen = [(x(i), y(v)) for i, (_, v) in enumerate(history)]
    parts.append(f"<polyline points='{_points(seen)}' fill='none' stroke='#222' "
                 "stroke-width='1.4'/>")
    parts += [f"<circle cx='{px:.1f}' cy='{py:.1f}' r='1.8' fill='#222'/>" for px, py in seen]
    parts += [_text(left - 3, top + 6, value_to_text(high, unit=unit), size=7, anchor="end"),
              _text(left - 3, height - bottom, value_to_text(low, unit=unit), size=7, anchor="end"),
              _text(left, height - 4, periods[0], size=7),
              _text(width - right, height - 4, periods[-1], size=7, anchor="end")]
    return _svg(width, height, parts)


def sparkline_svg(values: list[float | None], *, width: int = 220, height: int = 44) -> str:
    """A tile's series as a small line with dots, without axes (the trend below the tiles
    has the full chart): a few hundred bytes, where a plotly figure per tile cost more
    server time than the rest of the tile."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span, last, pad = (high - low) or 1.0, max(len(values) - 1, 1), 4
    xy = [(pad + i / last * (width - 2 * pad),
           height - pad - (v - low) / span * (height - 2 * pad)) for i, v in points]
    dots = "".join(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.2'/>" for x, y in xy)
    return _svg(width, height, [f"<polyline points='{_points(xy)}' fill='none' "
                                f"stroke='{FAN}' stroke-width='2'/><g fill='{FAN}'>{dots}</g>"])


def _coarse(cells: CellMap, resolution: int) -> list[tuple[str, float | None]]:
    """Cells at `resolution` with the most common value of their children (a district
    map's cells all hold their district's value), so the SVG stays small."""
    groups: dict[str, Counter[float | None]] = {}
    for hexa, value in cells.cells.select("h3_hex", "value").iter_rows():
        parent = h3.cell_to_parent(hexa, min(resolution, h3.get_resolution(hexa)))
        groups.setdefault(parent, Counter())[value] += 1
    return [(cell, counts.most_common(1)[0][0]) for cell, counts in sorted(groups.items())]


def map_svg(cells: CellMap, *, width: int = 250, height: int = 190,
            resolution: int = 9) -> str:
    """Hexagons coloured by the maps' classes, with the legend in words under them."""
    hexes = _coarse(cells, resolution)
    values = [v for _, v in hexes]
    if all(v is None for v in values):  # nothing to map
        return ""
    classes = scale_of(values)
    rings = {cell: h3.cell_to_boundary(cell) for cell, _ in hexes}
    lats = [lat for ring in rings.values() for lat, _ in ring]
    lngs = [lng for ring in rings.values() for _, lng in ring]
    squeeze = math.cos(math.radians((min(lats) + max(lats)) / 2))
    map_height = height - 26
    scale = min(width / ((max(lngs) - min(lngs)) * squeeze or 1),
                map_height / ((max(lats) - min(lats)) or 1))
    parts = []
    for cell, value in hexes:
        rgba = classes.rgba(value)
        fill = f"rgb{tuple(rgba[:3])}" if rgba else f"rgba{NO_VALUE_RGBA}"
        ring = [((lng - min(lngs)) * squeeze * scale, (max(lats) - lat) * scale)
                for lat, lng in rings[cell]]
        parts.append(f"<polygon points='{_points(ring)}' fill='{fill}' stroke='white' "
                     "stroke-width='0.3'/>")
    if classes.uniform:  # one value everywhere: said in words, not as a one-class legend
        text = f"every area: {legend_labels(values, classes.breaks)[0]} {cells.unit_label}"
        parts.append(_text(0, map_height + 13, text, size=6.5))
        return _svg(width, height, parts)
    labels = legend_labels(values, classes.breaks)
    swatches = [(f"rgb{tuple(c)}", label) for c, label in zip(classes.colours, labels,
                                                               strict=False)]
    if None in values:
        swatches.append((f"rgba{NO_VALUE_RGBA}", "no value"))
    step = width / max(len(swatches), 1)
    for number, (colour, label) in enumerate(swatches):
        parts.append(f"<rect x='{number * step:.1f}' y='{map_height + 6}' width='8' "
                     f"height='8' fill='{colour}'/>")
        text = label if label in ("–", "no value") else f"{label} {cells.unit_label}"
        parts.append(_text(number * step + 10, map_height + 13, text, size=6.5))
    return _svg(width, height, parts)
