"""One rule for numbers people read: digits by unit, shares within [0, 100], no float noise."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatory.formatting import rule_from_unit, value_to_published, value_to_text
from observatory.registry.spec import UNIT_LABELS

UNITS = sorted(UNIT_LABELS)  # every unit an indicator may declare
finite = st.floats(allow_nan=False, allow_infinity=False)
near_shares = st.floats(min_value=-1e-9, max_value=100 + 1e-9) | finite


def _decimals(text: str) -> int:
    return len(text.partition(".")[2])


def _significant(text: str) -> int:
    digits = text.replace(",", "").replace("-", "").replace(".", "")
    return len(digits.strip("0"))


@pytest.mark.parametrize(
    ("value", "unit", "published", "text"),
    [
        (100.00000000000001, "percent", 100.0, "100.0"),
        (99.99999999999999, "percent", 100.0, "100.0"),
        (-1e-15, "percent", 0.0, "0.0"),
        (12.345, "percent", 12.3, "12.3"),
        (287.9134431654003, "residents", 288, "288"),
        (21936.133000493843, "count", 21936, "21,936"),
        (5.999999999999998, "index", 6.0, "6.00"),
        (58931.685817770405, "per_km2", 58900.0, "58,900"),
        (0.27904170516084703, "minutes", 0.279, "0.279"),
        (6.543652968036534, "ug_m3", 6.54, "6.54"),
        (1689.1128118187205, "per_1k", 1690.0, "1,690"),
        (0.0, "per_1k", 0.0, "0"),
        (None, "percent", None, "no data"),
        (math.nan, "minutes", None, "no data"),
    ],
)
def test_published_figures(value: float | None, unit: str, published: object,
                           text: str) -> None:
    assert value_to_published(value, unit=unit) == published
    assert type(value_to_published(value, unit=unit)) is type(published)
    assert value_to_text(value, unit=unit) == text


def test_missing_says_why() -> None:
    assert value_to_text(None, unit="percent", missing="suppressed: fewer than 11 residents"
                         ) == "suppressed: fewer than 11 residents"


@given(value=near_shares)
def test_shares_never_leave_0_to_100_and_print_one_decimal(value: float) -> None:
    published = value_to_published(value, unit="percent")
    assert published is not None and 0.0 <= published <= 100.0
    text = value_to_text(value, unit="percent")
    assert 0.0 <= float(text.replace(",", "")) <= 100.0
    assert _decimals(text) == 1 and not text.startswith("-")


@given(value=finite, unit=st.sampled_from(UNITS))
def test_no_figure_prints_more_than_its_rule_allows(value: float, unit: str) -> None:
    rule = rule_from_unit(unit)
    text = value_to_text(value, unit=unit)
    published = value_to_published(value, unit=unit)
    if rule.significant is not None:
        assert _significant(text) <= rule.significant, text
        assert _significant(repr(abs(published)).removesuffix(".0").split("e")[0]) \
            <= rule.significant
    else:
        assert _decimals(text) == rule.decimals, text
    if rule.kind == "count":
        assert isinstance(published, int) and "." not in text
    # what a reader sees is the published figure
    assert float(text.replace(",", "")) == pytest.approx(float(published), rel=1e-12, abs=0)
