"""Disclosure control over an H3 hierarchy: threshold, merging and complementary suppression.

The rule (INSEE's for its gridded data): a cell whose count is below the indicator's
`min_count` is not published. The count is the denominator of a ratio (residents, say),
the value of a count or of a worst-place (`max`) measure.

Published values nest (whole area → resolution 7 → … → base cells), so hiding a small cell
is not enough: its value would be its published parent less its published siblings. The
published cells are therefore chosen top-down, family by family, from the whole area:

- a published cell's children are published when none is small;
- otherwise the small children form a *merged area* with, if needed, their smallest
  siblings, until it holds at least two cells and reaches `min_count` in total. That area
  is published as one figure ("merged into its H3 parent"), its member cells are not, and
  neither is anything inside them, at any resolution;
- empty children (count 0) are withheld but need no protection: they hold nobody.

Every published figure is then a whole cell or a merged area, and each merged area (two
cells or more) is either inside or outside any other published figure, so no combination
of published figures isolates a withheld cell: nothing is recoverable by subtraction, across
resolutions and the whole-area figure alike. For `max` measures nothing is subtracted, but
the same choice keeps a withheld cell from being read off as "the parent's maximum".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import polars as pl

from observatory.h3grid import cell_to_parent

ROOT = -1  # the whole study area (resolution and h3_cell NULL in indicator_results)
STATUSES = ("published", "below_min_count", "complementary", "empty")
_COLUMNS = ("value", "numerator", "denominator")


@dataclass(frozen=True)
class _Node:
    cell: int
    resolution: int | None
    value: float | None
    numerator: float | None
    denominator: float | None
    count: float


@dataclass(frozen=True)
class Disclosure:
    """What may be published of one indicator and period.

    `cells`: every cell (`resolution`, `h3_cell`, `value`, `numerator`, `denominator`,
    `count`, `status` ∈ STATUSES). `merged`: one row per merged area (`parent_resolution`,
    `parent_cell` (NULL for the whole area), `member_resolution`, `members`, `n_members`,
    `value`, `numerator`, `denominator`, `count`). `whole_area`: the whole-area row when
    it may be published, else None.
    """

    cells: pl.DataFrame
    merged: pl.DataFrame
    whole_area: dict[str, object] | None
    min_count: int
    aggregation: str

    def published_at(self, resolution: int) -> pl.DataFrame:
        """The cells published individually at `resolution`, by cell."""
        return (self.cells.filter((pl.col("resolution") == resolution)
                                  & (pl.col("status") == "published"))
                .drop("status").sort("h3_cell"))

    def merged_at(self, resolution: int) -> pl.DataFrame:
        """Merged areas a map at `resolution` shows in place of their member cells."""
        return self.merged.filter(pl.col("member_resolution") <= resolution)

    def withheld_at(self, resolution: int) -> dict[str, int]:
        """How many cells at `resolution` are not published, by reason."""
        frame = self.cells.filter((pl.col("resolution") == resolution)
                                  & (pl.col("status") != "published"))
        counts = dict(frame.group_by("status").len().iter_rows())
        return {status: int(counts.get(status, 0)) for status in STATUSES[1:]}


def count_of(row: dict[str, object], *, aggregation: str) -> float:
    """The figure the threshold tests: the denominator of a ratio, else the value."""
    raw = row.get("denominator") if aggregation == "ratio" else row.get("value")
    return float(raw) if raw is not None else 0.0  # type: ignore[arg-type]


def _nodes(results: pl.DataFrame, *, aggregation: str) -> dict[int, _Node]:
    nodes: dict[int, _Node] = {}
    for row in results.iter_rows(named=True):
        cell = ROOT if row["h3_cell"] is None else int(row["h3_cell"])
        nodes[cell] = _Node(cell, row["resolution"], *(row.get(c) for c in _COLUMNS),
                            count=count_of(row, aggregation=aggregation))
    return nodes


def _families(nodes: dict[int, _Node]) -> dict[int, list[int]]:
    """Children of each cell (ROOT for the coarsest level), in cell order."""
    levels = sorted({n.resolution for n in nodes.values() if n.resolution is not None})
    coarser = dict(zip(levels[1:], levels[:-1], strict=True))
    children: dict[int, list[int]] = defaultdict(list)
    for node in sorted(nodes.values(), key=lambda n: n.cell):
        if node.cell == ROOT or node.resolution is None:
            continue
        parent_res = coarser.get(node.resolution)
        parent = ROOT if parent_res is None else cell_to_parent(node.cell, parent_res)
        children[parent].append(node.cell)
    return children


def _combined_count(members: list[_Node], *, aggregation: str) -> float:
    counts = [m.count for m in members]
    return max(counts) if aggregation == "max" else sum(counts)


def merged_group(children: list[_Node], *, min_count: int, aggregation: str) -> list[_Node]:
    """The children to merge: the small ones and, if needed, their smallest siblings."""
    group = [c for c in children if 0 < c.count < min_count]
    if not group:
        return []
    others = sorted((c for c in children if c.count >= min_count), key=lambda c: (c.count, c.cell))
    while others and (len(group) < 2
                      or _combined_count(group, aggregation=aggregation) < min_count):
        group.append(others.pop(0))
    return group


def _merged_row(parent: _Node, group: list[_Node], *, aggregation: str,
                scale: float) -> dict[str, object]:
    numerator = _total(m.numerator for m in group)
    denominator = _total(m.denominator for m in group)
    values = [m.value for m in group if m.value is not None]
    if aggregation == "ratio":
        value = scale * numerator / denominator if numerator is not None and denominator else None
    elif aggregation == "max":
        value = max(values) if values else None
    else:
        value = sum(values) if values else None
    return {"parent_resolution": parent.resolution,
            "parent_cell": None if parent.cell == ROOT else parent.cell,
            "member_resolution": group[0].resolution,
            "members": sorted(m.cell for m in group), "n_members": len(group),
            "value": value, "numerator": numerator, "denominator": denominator,
            "count": _combined_count(group, aggregation=aggregation)}


def _total(values: object) -> float | None:
    found = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return float(sum(found)) if found else None


def disclosure_from_results(results: pl.DataFrame, *, min_count: int, aggregation: str,
                            scale: float = 1.0) -> Disclosure:
    """Decide what may be published of one indicator and period.

    `results`: the rows of `indicator_results` of that indicator and period, at every
    resolution, with the whole-area row (`resolution` and `h3_cell` NULL). `scale` is the
    ratio's unit scale (100 for percent), used to give merged areas their value.
    """
    nodes = _nodes(results, aggregation=aggregation)
    families = _families(nodes)
    root = nodes.get(ROOT)
    if root is None:  # no whole-area row: protect as if it were published
        top = [nodes[c] for c in families.get(ROOT, [])]
        root = _Node(ROOT, None, None, None, None, _combined_count(top, aggregation=aggregation)
                     if top else 0.0)
    status: dict[int, str] = {}
    merged: list[dict[str, object]] = []
    queue = [root] if root.count >= min_count else []
    while queue:
        parent = queue.pop()
        status[parent.cell] = "published"
        children = [nodes[c] for c in families.get(parent.cell, [])]
        group = merged_group(children, min_count=min_count, aggregation=aggregation)
        complete = (len(group) >= 2
                    and _combined_count(group, aggregation=aggregation) >= min_count)
        if group and complete:
            merged.append(_merged_row(parent, group, aggregation=aggregation, scale=scale))
        hidden = {m.cell for m in group}
        queue += [c for c in children if c.cell not in hidden and c.count > 0]
    return Disclosure(
        cells=_cell_frame(nodes, status, min_count=min_count),
        merged=pl.DataFrame(merged, schema=MERGED_SCHEMA),
        whole_area=(results.filter(pl.col("h3_cell").is_null()).row(0, named=True)
                    if ROOT in status and ROOT in nodes else None),
        min_count=min_count, aggregation=aggregation)


MERGED_SCHEMA = {"parent_resolution": pl.Int64, "parent_cell": pl.Int64,
                 "member_resolution": pl.Int64, "members": pl.List(pl.Int64),
                 "n_members": pl.Int64, "value": pl.Float64, "numerator": pl.Float64,
                 "denominator": pl.Float64, "count": pl.Float64}
CELL_SCHEMA = {"resolution": pl.Int64, "h3_cell": pl.Int64, "value": pl.Float64,
               "numerator": pl.Float64, "denominator": pl.Float64, "count": pl.Float64,
               "status": pl.String}


def _cell_frame(nodes: dict[int, _Node], status: dict[int, str], *,
                min_count: int) -> pl.DataFrame:
    rows = []
    for node in sorted(nodes.values(), key=lambda n: (n.resolution or 0, n.cell)):
        if node.cell == ROOT:
            continue
        if node.cell in status:
            reason = status[node.cell]
        elif node.count <= 0:
            reason = "empty"
        elif node.count < min_count:
            reason = "below_min_count"
        else:
            reason = "complementary"
        rows.append({"resolution": node.resolution, "h3_cell": node.cell, "value": node.value,
                     "numerator": node.numerator, "denominator": node.denominator,
                     "count": node.count, "status": reason})
    return pl.DataFrame(rows, schema=CELL_SCHEMA)
