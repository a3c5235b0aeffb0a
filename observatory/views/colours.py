"""Colour classes for maps and charts: viridis quantiles, PuOr centred on zero for changes.

Pure functions, no Streamlit, so they are tested without an app.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from observatory.i18n import format_number, t, with_digits

# Viridis (perceptually uniform, colour-blind safe), the 10 stops plotly ships.
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
           "#6ece58", "#b5de2b", "#fde725")
NO_VALUE_RGBA = (189, 189, 189, 120)
CLASSES = 5
# ColorBrewer PuOr, 7 classes (colour-blind safe): orange for decreases, purple for
# increases, the middle class "no change"; for maps of changes, centred on zero.
DIVERGING = ("#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788")


def hex_to_rgb(code: str) -> tuple[int, int, int]:
    """`#rrggbb` to an (r, g, b) tuple."""
    code = code.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


def viridis(t: float) -> tuple[int, int, int]:
    """The viridis colour at `t` in [0, 1], interpolated between the stops."""
    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    low = min(int(math.floor(t)), len(VIRIDIS) - 2)
    frac = t - low
    a, b = hex_to_rgb(VIRIDIS[low]), hex_to_rgb(VIRIDIS[low + 1])
    return tuple(round(x + (y - x) * frac) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _clean(value: float) -> float:
    """The value to 10 significant digits, so float noise (5.999999999999999) makes no class."""
    return float(f"{value:.10g}")


def _quantiles(data: Sequence[float], classes: int) -> list[float]:
    return [data[min(len(data) - 1, round(q * (len(data) - 1) / classes))]
            for q in range(classes + 1)]


def class_breaks(values: Sequence[float | None], *, classes: int = CLASSES) -> list[float]:
    """Quantile class bounds (ascending, without duplicates) of the non-missing values.

    When the lowest value (typically 0) fills a class or more on its own, it gets a class
    of its own and the other values share the remaining classes, so a map of a sparse
    indicator does not collapse into two colours. When most cells share one value and the
    quantiles collapse, the classes are cut over the distinct values instead: a map whose
    cells hold 4 and 7 shows two colours, not one class "4–7".
    """
    data = sorted(_clean(v) for v in values if v is not None and not math.isnan(v))
    if not data:
        return []
    lowest = data[0]
    rest = [v for v in data if v > lowest]
    if rest and len(data) - len(rest) >= len(data) / classes and classes > 2:
        breaks = sorted({lowest, *_quantiles(rest, classes - 1)})
    else:
        breaks = sorted(set(_quantiles(data, classes)))
    distinct = sorted(set(data))
    if len(breaks) - 1 >= min(classes, len(distinct)) or len(distinct) < 2:
        return breaks
    # Quantiles collapsed (most cells share a value): classes over the distinct values
    # instead, so that 4 and 7 never share one colour. Few values: one class each.
    if len(distinct) <= classes:
        middles = [(a + b) / 2 for a, b in zip(distinct, distinct[1:], strict=False)]
        return [distinct[0], *middles, distinct[-1]]
    return sorted(set(_quantiles(distinct, classes)))


def diverging_breaks(values: Sequence[float | None]) -> list[float]:
    """Seven classes symmetric about zero: three of decreases, "no change" (zero up to
    float noise), three of increases, in equal steps of the largest change either way, so
    that a colour means the same size of change on both sides."""
    data = [_clean(v) for v in values if v is not None and not math.isnan(v)]
    if not data:
        return []
    largest = max(abs(v) for v in data)
    if largest == 0:
        return [0.0, 0.0]
    zero = largest * 1e-9
    steps = [largest / 3, 2 * largest / 3]
    return [-largest, -steps[1], -steps[0], -zero, zero, steps[0], steps[1], largest]


def diverging_colours(breaks: Sequence[float]) -> list[tuple[int, int, int]]:
    """The colours of `diverging_breaks`' classes ("no change" alone when nothing moved)."""
    if len(breaks) < 8:
        return [hex_to_rgb(DIVERGING[3])]
    return [hex_to_rgb(code) for code in DIVERGING]


@dataclass(frozen=True)
class Scale:
    """The classes of one map: bounds, one colour per class, and whether every value is
    the same up to float noise (then the map says so in words, not as a one-class
    legend)."""

    breaks: list[float]
    colours: list[tuple[int, int, int]]
    uniform: bool

    def rgba(self, value: float | None, *, alpha: int = 200) -> list[int] | None:
        """The fill of `value` (None when it is missing)."""
        index = class_of(value, self.breaks)
        return None if index is None else [*self.colours[index], alpha]


def scale_of(values: Sequence[float | None], *, diverging: bool = False) -> Scale:
    """Viridis quantile classes, or PuOr centred on zero when `values` are changes."""
    present = {_clean(v) for v in values if v is not None and not math.isnan(v)}
    if diverging:
        breaks = diverging_breaks(values)
        return Scale(breaks, diverging_colours(breaks), len(present) == 1)
    breaks = class_breaks(values)
    return Scale(breaks, class_colours(breaks), len(present) == 1)


def class_colours(breaks: Sequence[float]) -> list[tuple[int, int, int]]:
    """One viridis colour per class defined by `breaks` (a single colour if all equal)."""
    count = max(len(breaks) - 1, 1)
    return [viridis(i / (count - 1)) if count > 1 else viridis(0.5) for i in range(count)]


def class_of(value: float | None, breaks: Sequence[float]) -> int | None:
    """The class index of `value` (None when missing); the top bound closes the last class."""
    if value is None or math.isnan(value) or not breaks:
        return None
    value = _clean(value)
    for index in range(1, len(breaks) - 1):
        if value < breaks[index]:
            return index - 1
    return max(len(breaks) - 2, 0)


def legend_labels(values: Sequence[float | None], breaks: Sequence[float], *,
                  diverging: bool = False, language: str = "en") -> list[str]:
    """One label per class: the range of the values that fall in it (`–` if none); for a
    diverging scale, signed, and its middle class reads "no change"."""
    members: dict[int, list[float]] = {}
    for value in values:
        index = class_of(value, breaks)
        if index is not None:
            members.setdefault(index, []).append(float(value))  # type: ignore[arg-type]
    ranges = [(min(found), max(found)) if (found := members.get(index)) else None
              for index in range(max(len(breaks) - 1, 1))]
    for digits in (None, 3, 4, 5, 6):  # more digits until the classes read apart
        labels = [_range_label(bounds, digits=digits, language=language)
                  for bounds in ranges]
        shown = [label for label in labels if label != "–"]
        if len(set(shown)) == len(shown):
            break
    if diverging:
        labels = [_signed(label) for label in labels]
        if len(labels) == 7:
            labels[3] = t("legend_no_change", language)
    return labels


def _signed(label: str) -> str:
    """"3.5–7" → "+3.5–+7" (decreases already carry their minus sign)."""
    if label == "–":
        return label
    parts = label.split("–") if not label.startswith("-") else [label]
    return "–".join(p if p.startswith(("-", "−", "0")) else f"+{p}" for p in parts)


def _range_label(bounds: tuple[float, float] | None, *, digits: int | None,
                 language: str = "en") -> str:
    if bounds is None:
        return "–"
    if digits is None:
        low, high = (format_number(bounds[0], language), format_number(bounds[1], language))
    else:
        low, high = (with_digits(bounds[0], digits, language),
                     with_digits(bounds[1], digits, language))
    return low if low == high else f"{low}–{high}"


def format_value(value: float | None, *, unit: str = "") -> str:
    """A value as people read it: 3 significant digits at most, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    text = format_number(value, "en")
    if not unit:
        return text
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}"
