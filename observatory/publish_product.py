"""One downloadable product of the open-data bundle: what it holds and where it lives.

Shared by the bundle writer (observatory.publish) and its DCAT-AP catalogue
(observatory.publish_dcat), so neither has to import the other's internals. Cheap to
import (Polars only for type hints): `observatory publish --help` reads its defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from observatory.formatting import rule_from_unit

if TYPE_CHECKING:
    import polars as pl

DEFAULT_PUBLISHER = "Observatory (central Helsinki demonstration)"
FORMATS = ("csv", "geojson", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}


@dataclass(frozen=True)
class Product:
    """One downloadable table: an indicator at one resolution (None: whole area)."""

    name: str
    label: str
    resolution: int | None
    table: pl.DataFrame
    licence: str
    licence_uri: str | None
    citation: str
    computed_at: datetime | None
    periods: tuple[str, ...] = field(default=())

    @property
    def stem(self) -> str:
        """File name without extension."""
        suffix = "whole_area" if self.resolution is None else f"res{self.resolution}"
        return f"{self.name}_{suffix}"

    @property
    def unit(self) -> str:
        """The indicator's unit (one per product: the table's `unit` column)."""
        units = self.table["unit"].drop_nulls().unique().to_list()
        return str(units[0]) if len(units) == 1 else ""


def product_path(product: Product, *, file_format: str) -> str:
    """Where a product lives in the bundle, relative to its root."""
    return f"indicators/{product.name}/{product.stem}.{file_format}"


def precision_note(unit: str, *, file_format: str) -> str:
    """What precision a product's file carries, in words (its metadata says so)."""
    if file_format == "parquet":
        return ("full precision of the computation; the CSV and GeoJSON files are rounded "
                "for reading")
    rule = rule_from_unit(unit).description
    clamp = " within 0-100" if rule_from_unit(unit).bounds else ""
    return (f"value rounded to {rule}{clamp} ({unit or 'no unit'}); numerator and "
            "denominator to whole numbers; the Parquet file keeps full precision")
