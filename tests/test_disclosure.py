"""Disclosure control over H3 hierarchies: no small cell published, none recoverable.

Hypothesis draws random counts over random H3 hierarchies (resolutions 7 to 9, as the
engine rolls them up, with the whole-area row), then checks what an attacker could do with
every published figure: combine them linearly. A withheld cell is recoverable exactly when
its set of base cells lies in the span of the published sets.
"""

from __future__ import annotations

import h3
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory import views
from observatory.datasets import known_datasets
from observatory.disclosure import Disclosure, disclosure_from_results, merged_group
from observatory.h3grid import cell_to_parent
from observatory.registry.loader import load_registry
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read
from observatory.views.disclosure import indicator_disclosure

CENTRE = h3.latlng_to_cell(60.17, 24.94, 7)
BASE = 9


@st.composite
def hierarchies(draw: st.DrawFn) -> dict[int, int]:
    """Base cells (resolution 9) of 1-3 resolution-7 cells, each with a random count."""
    tops = draw(st.lists(st.sampled_from(sorted(h3.grid_disk(CENTRE, 1))), min_size=1,
                         max_size=3, unique=True))
    counts: dict[int, int] = {}
    for top in tops:
        mids = draw(st.lists(st.sampled_from(sorted(h3.cell_to_children(top, 8))),
                             min_size=1, max_size=4, unique=True))
        for mid in mids:
            bases = draw(st.lists(st.sampled_from(sorted(h3.cell_to_children(mid, BASE))),
                                  min_size=1, max_size=5, unique=True))
            for base in bases:
                counts[h3.str_to_int(base)] = draw(st.one_of(
                    st.integers(0, 3), st.integers(0, 15), st.integers(0, 200)))
    return counts


def results_from(counts: dict[int, int], *, aggregation: str) -> pl.DataFrame:
    """The engine's rows: base cells, their parents at 8 and 7, and the whole area."""
    base = pl.DataFrame({"h3_cell": list(counts), "count": list(counts.values())},
                        schema={"h3_cell": pl.Int64, "count": pl.Float64})
    frames = []
    for res in (BASE, 8, 7, None):
        parents = (base["h3_cell"].map_elements(lambda c, r=res: cell_to_parent(c, r),
                                                return_dtype=pl.Int64)
                   if res is not None else pl.lit(None, dtype=pl.Int64))
        agg = "max" if aggregation == "max" else "sum"
        grouped = (base.with_columns(parents.alias("h3_cell"))
                   .group_by("h3_cell").agg(getattr(pl.col("count"), agg)()))
        frames.append(grouped.with_columns(pl.lit(res, dtype=pl.Int64).alias("resolution")))
    rows = pl.concat(frames).sort("resolution", "h3_cell", nulls_last=True)
    numerator = (pl.col("count") / 2).floor()
    if aggregation == "ratio":
        return rows.select("resolution", "h3_cell", (100 * numerator / pl.col("count"))
                           .alias("value"), numerator.alias("numerator"),
                           pl.col("count").alias("denominator"))
    return rows.select("resolution", "h3_cell", pl.col("count").alias("value"),
                       pl.lit(None, dtype=pl.Float64).alias("numerator"),
                       pl.lit(None, dtype=pl.Float64).alias("denominator"))


def _base_cells_of(cell: int | None, resolution: int | None, bases: list[int]) -> set[int]:
    if cell is None:
        return set(bases)
    return {b for b in bases if cell_to_parent(b, resolution) == cell}


def published_sets(result: Disclosure, bases: list[int]) -> list[set[int]]:
    """Every published figure as the set of base cells it adds up."""
    sets = [_base_cells_of(None, None, bases)] if result.whole_area else []
    for row in result.cells.filter(pl.col("status") == "published").iter_rows(named=True):
        sets.append(_base_cells_of(row["h3_cell"], row["resolution"], bases))
    for row in result.merged.iter_rows(named=True):
        members = set()
        for member in row["members"]:
            members |= _base_cells_of(member, row["member_resolution"], bases)
        sets.append(members)
    return sets


def recoverable(target: set[int], sets: list[set[int]], columns: list[int]) -> bool:
    """True when `target` is a linear combination of `sets` (over the non-empty cells)."""
    index = {c: i for i, c in enumerate(columns)}

    def vector(cells: set[int]) -> np.ndarray:
        out = np.zeros(len(columns))
        for cell in cells & index.keys():
            out[index[cell]] = 1.0
        return out

    if not sets:
        return False
    matrix = np.array([vector(s) for s in sets])
    stacked = np.vstack([matrix, vector(target)])
    return np.linalg.matrix_rank(stacked) == np.linalg.matrix_rank(matrix)


@settings(max_examples=150, deadline=None)
@given(counts=hierarchies(), min_count=st.integers(1, 30),
       aggregation=st.sampled_from(["sum", "ratio"]))
def test_nothing_small_is_published_and_nothing_withheld_is_recoverable(
    counts: dict[int, int], min_count: int, aggregation: str
) -> None:
    result = disclosure_from_results(results_from(counts, aggregation=aggregation),
                                     min_count=min_count, aggregation=aggregation, scale=100)
    published = result.cells.filter(pl.col("status") == "published")
    assert (published["count"] >= min_count).all()
    assert (result.merged["count"] >= min_count).all()
    assert (result.merged["n_members"] >= 2).all()
    if result.whole_area is not None:
        assert sum(counts.values()) >= min_count
    bases = sorted(counts)
    non_empty = [b for b in bases if counts[b] > 0]  # an empty cell holds nobody
    sets = published_sets(result, bases)
    withheld = result.cells.filter(pl.col("status").is_in(["below_min_count",
                                                           "complementary"]))
    for row in withheld.iter_rows(named=True):
        target = _base_cells_of(row["h3_cell"], row["resolution"], bases)
        assert not recoverable(target, sets, non_empty), row


@settings(max_examples=80, deadline=None)
@given(counts=hierarchies(), min_count=st.integers(1, 30))
def test_worst_place_measures_publish_no_small_cell(counts: dict[int, int],
                                                    min_count: int) -> None:
    result = disclosure_from_results(results_from(counts, aggregation="max"),
                                     min_count=min_count, aggregation="max")
    assert (result.cells.filter(pl.col("status") == "published")["count"] >= min_count).all()
    assert (result.merged["count"] >= min_count).all()


@given(counts=hierarchies(), min_count=st.integers(1, 30))
def test_each_resolution_accounts_for_every_cell(counts: dict[int, int],
                                                 min_count: int) -> None:
    frame = results_from(counts, aggregation="sum")
    result = disclosure_from_results(frame, min_count=min_count, aggregation="sum")
    for res in (7, 8, BASE):
        total = frame.filter(pl.col("resolution") == res).height
        assert result.published_at(res).height + sum(result.withheld_at(res).values()) == total


def test_a_lone_small_cell_is_merged_with_its_smallest_sibling() -> None:
    parent = h3.str_to_int(CENTRE)
    children = sorted(h3.str_to_int(c) for c in h3.cell_to_children(CENTRE, 8))[:4]
    counts = {children[0]: 3, children[1]: 50, children[2]: 20, children[3]: 0}
    rows = [{"resolution": 8, "h3_cell": c, "value": float(v)} for c, v in counts.items()]
    rows += [{"resolution": 7, "h3_cell": parent, "value": 73.0},
             {"resolution": None, "h3_cell": None, "value": 73.0}]
    frame = pl.DataFrame(rows, schema={"resolution": pl.Int64, "h3_cell": pl.Int64,
                                       "value": pl.Float64})
    result = disclosure_from_results(frame.with_columns(
        numerator=pl.lit(None, dtype=pl.Float64), denominator=pl.lit(None, dtype=pl.Float64)),
        min_count=11, aggregation="sum")
    status = dict(result.cells.select("h3_cell", "status").iter_rows())
    assert status == {parent: "published", children[0]: "below_min_count",
                      children[1]: "published", children[2]: "complementary",
                      children[3]: "empty"}
    merged = result.merged.row(0, named=True)
    assert merged["members"] == sorted([children[0], children[2]])
    assert merged["value"] == 23.0 and merged["parent_cell"] == parent
    assert result.withheld_at(8) == {"below_min_count": 1, "complementary": 1, "empty": 1}


def test_merged_group_is_empty_when_nothing_is_small() -> None:
    assert merged_group([], min_count=11, aggregation="sum") == []


@pytest.fixture(scope="module")
def store_registry(helsinki_store):
    con = connect_read(helsinki_store)
    registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    yield con, registry
    con.close()


def test_public_cells_of_the_real_store_leave_nothing_recoverable(store_registry) -> None:
    con, registry = store_registry
    loaded = registry.get("grocery_15min_walk_share")
    period = views.available_periods(con, name=loaded.spec.name)[0]
    result = indicator_disclosure(con, loaded.spec, period=period)
    base = result.cells.filter(pl.col("resolution") == 10)
    bases = base["h3_cell"].to_list()
    counts = dict(zip(bases, base["count"].to_list(), strict=True))
    sets = published_sets(result, bases)
    non_empty = [b for b in bases if counts[b] > 0]
    withheld = result.cells.filter(pl.col("status").is_in(["below_min_count",
                                                           "complementary"]))
    assert withheld.height > 0
    for row in withheld.iter_rows(named=True):
        target = _base_cells_of(row["h3_cell"], row["resolution"], bases)
        assert not recoverable(target, sets, non_empty), row
    public = views.indicator_cells(con, registry, loaded.spec.name, role=Role.PUBLIC,
                                  resolution=10, period=period)
    assert public.cells.height == result.published_at(10).height
