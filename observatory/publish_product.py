"""One downloadable product of the open-data bundle: what it holds and where it lives.

Shared by the bundle writer (observatory.publish) and its DCAT-AP catalogue
(observatory.publish_dcat), so neither has to import the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

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


def product_path(product: Product, *, file_format: str) -> str:
    """Where a product lives in the bundle, relative to its root."""
    return f"indicators/{product.name}/{product.stem}.{file_format}"
