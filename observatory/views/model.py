"""The small value types views return: plain data, picklable, no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

# Maps hold at most this many cells; pickers offer only resolutions below it.
MAX_MAP_CELLS = 20_000


@dataclass(frozen=True)
class SourceRef:
    """One loaded source as a reader needs to cite it."""

    source_id: str
    type: str
    licence: str
    attribution: str | None
    data_as_of: datetime | None
    modelled: bool
    simulated: bool


@dataclass(frozen=True)
class Provenance:
    """Where the numbers on screen come from."""

    unit_label: str
    sources: tuple[SourceRef, ...]

    @property
    def data_as_of(self) -> datetime | None:
        """The newest `data_as_of` among the sources."""
        dates = [s.data_as_of for s in self.sources if s.data_as_of is not None]
        return max(dates) if dates else None

    @property
    def modelled(self) -> bool:
        """True when any source is modelled rather than observed."""
        return any(s.modelled for s in self.sources)

    @property
    def simulated(self) -> bool:
        """True when any source is simulated demo data."""
        return any(s.simulated for s in self.sources)


@dataclass(frozen=True)
class CellMap:
    """Values per H3 cell, ready to draw and to tabulate.

    `cells` has at least `h3_hex` and `value`; indicator maps add `numerator` and
    `denominator`. `suppressed` counts cells withheld by disclosure control.
    """

    title: str
    cells: pl.DataFrame
    unit_label: str
    resolution: int
    provenance: Provenance
    period: str | None = None
    suppressed: int = 0
    min_count: int | None = None
    diverging: bool = False  # values are changes: a palette centred on zero


@dataclass(frozen=True)
class TargetStatus:
    """An indicator's value against its declared target."""

    value: float
    by: str
    source: str
    status: str  # "met", "not met", "target declared" (neutral direction) or "no value"


@dataclass(frozen=True)
class IndicatorSummary:
    """The whole-area figure of one indicator for one period, with its provenance."""

    name: str
    label: str
    description: str
    theme: str
    period: str | None
    value: float | None
    unit_label: str
    direction: str
    provenance: Provenance
    target: TargetStatus | None = None
    computed_at: datetime | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class Methodology:
    """How an indicator is computed, as published next to it."""

    standard: str
    deviations: str
    parameters: dict[str, object] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    aggregation: str = "ratio"
    min_count: int = 1
    code_language: str = "sql"
    code: str = ""
    definition: str = ""
    definition_path: str = ""
    computed_at: datetime | None = None
    provenance: Provenance | None = None
