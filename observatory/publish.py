"""Open data: per-indicator files (CSV, GeoJSON, Parquet) and the static bundle.

Each public indicator gets, per H3 resolution, one table of every period as the public
portal shows it (disclosure-controlled, columns `indicator, period, resolution, h3_cell,
value, numerator, denominator, unit, area, merged_cells, merged_into`), plus its
whole-area values per period. `publish_bundle` writes them all with a DCAT-AP catalogue
(JSON-LD), a README with licences and citations and a manifest of sha256 hashes.

CSV and GeoJSON carry numbers for people: values rounded by the one rule of
observatory.formatting (by the indicator's unit), numerator and denominator as whole
numbers. Parquet keeps full precision; every file's metadata and the catalogue say which.

Everything is a function of the store: rows and files are sorted, dates come from the
store's `computed_at`, nothing random or clock-based, so publishing the same store twice
gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import h3
import polars as pl
import pyarrow.parquet as pq

from observatory.datasets import known_datasets
from observatory.errors import InputError
from observatory.formatting import rule_from_unit, value_to_published
from observatory.publish_dcat import catalogue_bytes
from observatory.publish_product import (
    DEFAULT_PUBLISHER,
    FORMATS,
    Product,
    precision_note,
    product_path,
)
from observatory.publish_product import MEDIA_TYPES as MEDIA_TYPES  # re-exported for the portal
from observatory.registry import Registry, load_registry
from observatory.registry.spec import IndicatorSpec, LoadedSpec
from observatory.roles import Role
from observatory.settings import indicators_dir
from observatory.store import connect_read, read_frame
from observatory.views.disclosure import indicator_disclosure
from observatory.views.indicators import (
    available_periods,
    computed_at,
    visible_spec,
    visible_specs,
)
from observatory.views.published import (
    PUBLIC,
    TABLE_SCHEMA,
    indicator_provenance,
    product_licence,
    published_table,
    trend_of,
)

MANIFEST = "manifest.json"
_COORD_DIGITS = 7


class PublishError(InputError, ValueError):
    """The output folder cannot receive a bundle."""


def citation_line(spec: IndicatorSpec, *, resolution: int | None, periods: list[str],
                  when: datetime | None, licence: str, sources: list[str],
                  publisher: str = DEFAULT_PUBLISHER) -> str:
    """How to cite one product, in one line."""
    year = when.year if when else "n.d."
    span = f"{periods[0]}–{periods[-1]}" if len(periods) > 1 else (periods[0] if periods
                                                                   else "no period")
    where = "whole area" if resolution is None else f"H3 resolution {resolution}"
    computed = f" Computed {when.date().isoformat()}" if when else ""
    return (f"{publisher} ({year}). {spec.label_in('en')} [{spec.name}], {where}, {span}."
            f"{computed} from {', '.join(sources) or 'no recorded source'}. "
            f"Licence: {licence}.")


def indicator_products(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec, *,
                       publisher: str = DEFAULT_PUBLISHER) -> list[Product]:
    """Every downloadable table of one public indicator: whole area, then per resolution."""
    spec = loaded.spec
    periods = sorted(available_periods(con, name=spec.name))
    provenance = indicator_provenance(con, spec)
    licence, uri = product_licence(provenance)
    sources = [s.source_id for s in provenance.sources]
    when = computed_at(con, spec.name)
    tables: dict[int | None, list[pl.DataFrame]] = {None: [whole_area_table(con, loaded)]}
    for period in periods:
        disclosure = indicator_disclosure(con, spec, period=period)
        for resolution in sorted(set(disclosure.cells["resolution"].to_list())):
            tables.setdefault(resolution, []).append(
                published_table(disclosure, spec, period=period, resolution=resolution))
    return [
        Product(name=spec.name, label=spec.label_in("en"), resolution=resolution,
                table=pl.concat(frames), licence=licence, licence_uri=uri,
                citation=citation_line(spec, resolution=resolution, periods=periods,
                                       when=when, licence=licence, sources=sources,
                                       publisher=publisher),
                computed_at=when, periods=tuple(periods))
        for resolution, frames in sorted(tables.items(), key=lambda kv: kv[0] or 0)
    ]


def whole_area_table(con: duckdb.DuckDBPyConnection, loaded: LoadedSpec) -> pl.DataFrame:
    """The published whole-area value of every period, in the common table layout."""
    trend = trend_of(con, loaded, role=PUBLIC)
    rows = read_whole_area(con, loaded.spec.name)
    kept = rows.join(trend.select("period"), on="period", how="semi")
    return kept.select(
        pl.lit(loaded.spec.name).alias("indicator"), "period",
        pl.lit(None, dtype=pl.Int64).alias("resolution"),
        pl.lit(None, dtype=pl.String).alias("h3_cell"), "value", "numerator", "denominator",
        pl.lit(loaded.spec.unit).alias("unit"), pl.lit("whole area").alias("area"),
        pl.lit(None, dtype=pl.String).alias("merged_cells"),
        pl.lit(None, dtype=pl.String).alias("merged_into")).cast(TABLE_SCHEMA)


def read_whole_area(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    """Whole-area rows of one indicator (unfiltered: callers keep the published ones)."""
    return read_frame(con, "SELECT period, value, numerator, denominator "
                      "FROM indicator_results WHERE indicator = $n AND resolution IS NULL "
                      "ORDER BY period", {"n": name})


# -- file formats ------------------------------------------------------------------------

_AMOUNTS = ("numerator", "denominator")  # people, objects, areas: whole numbers


def rounded_table(product: Product) -> pl.DataFrame:
    """The table as CSV and GeoJSON publish it: `value` by the unit's rule (shares clamped
    to [0, 100]), numerator and denominator as whole numbers."""
    unit = product.unit
    table = product.table
    integer = rule_from_unit(unit).kind == "count"
    columns = [pl.Series("value", [value_to_published(v, unit=unit) for v in table["value"]],
                         dtype=pl.Int64 if integer else pl.Float64)]
    columns += [pl.Series(name, [value_to_published(v, unit="count") for v in table[name]],
                          dtype=pl.Int64) for name in _AMOUNTS]
    return table.with_columns(columns)


def csv_bytes(product: Product) -> bytes:
    """The rounded table (`rounded_table`) as UTF-8 CSV with a header row."""
    return rounded_table(product).write_csv().encode("utf-8")


def parquet_bytes(product: Product) -> bytes:
    """The table at full precision as Parquet, with the licence, citation and a note on
    precision in the file's metadata."""
    table = product.table.to_arrow()
    table = table.replace_schema_metadata({"licence": product.licence,
                                           "licence_uri": product.licence_uri or "",
                                           "citation": product.citation,
                                           "precision": precision_note(
                                               product.unit, file_format="parquet")})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, _COORD_DIGITS)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _geometry(row: dict[str, object]) -> dict[str, object] | None:
    if row["h3_cell"]:
        cells = [str(row["h3_cell"])]
    elif row["merged_cells"]:
        cells = str(row["merged_cells"]).split(" ")
    else:
        return None  # the whole area: a figure without a hexagon of its own
    shape = h3.cells_to_geo(cells)
    return {"type": shape["type"], "coordinates": _rounded(shape["coordinates"])}


def geojson_bytes(product: Product) -> bytes:
    """The rounded table (`rounded_table`) as a GeoJSON FeatureCollection of H3 cell
    polygons (merged areas unioned)."""
    features = [{"type": "Feature", "geometry": _geometry(row), "properties": row}
                for row in rounded_table(product).iter_rows(named=True)]
    document = {"type": "FeatureCollection", "licence": product.licence,
                "licence_uri": product.licence_uri, "citation": product.citation,
                "precision": precision_note(product.unit, file_format="geojson"),
                "features": features}
    return (json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            + "\n").encode("utf-8")


WRITERS = {"csv": csv_bytes, "geojson": geojson_bytes, "parquet": parquet_bytes}


def product_bytes(product: Product, *, file_format: str) -> bytes:
    """One product in one of FORMATS."""
    return WRITERS[file_format](product)


def open_data_files(con: duckdb.DuckDBPyConnection, registry: Registry, name: str, *,
                    role: Role, resolution: int) -> tuple[dict[str, bytes], str, str, str]:
    """The open-data files of one public indicator at one resolution as the bundle has
    them (the public's figures, whoever asks): files by format, stem, licence, citation."""
    del role  # open data is the public's: the same files for everybody
    loaded = visible_spec(registry, name, role=PUBLIC)
    product = next(p for p in indicator_products(con, loaded) if p.resolution == resolution)
    files = {f: product_bytes(product, file_format=f) for f in FORMATS}
    return files, product.stem, product.licence, product.citation


# -- the bundle --------------------------------------------------------------------------

def public_indicators(con: duckdb.DuckDBPyConnection, registry: Registry) -> list[LoadedSpec]:
    """Public definitions with results, by name."""
    specs = [s for s in visible_specs(registry, role=PUBLIC)
             if available_periods(con, name=s.spec.name)]
    return sorted(specs, key=lambda s: s.spec.name)


def _write(root: Path, relative: str, data: bytes) -> tuple[str, int]:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), len(data)


def _prepare(outdir: Path) -> Path:
    """A fresh staging folder next to `outdir`; refuse a non-empty folder that is no bundle."""
    if outdir.exists() and (not outdir.is_dir() or (any(outdir.iterdir())
                                                    and not (outdir / MANIFEST).is_file())):
        raise PublishError(f"{outdir}: exists and is not an open-data bundle (no {MANIFEST}); "
                           "choose an empty or new folder.")
    staging = outdir.with_name(f".{outdir.name}.publishing")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    return staging


def _swap(staging: Path, outdir: Path) -> None:
    if outdir.exists():
        old = outdir.with_name(f".{outdir.name}.old")
        outdir.rename(old)
        staging.rename(outdir)
        shutil.rmtree(old)
    else:
        staging.rename(outdir)


def manifest_bytes(root: Path) -> bytes:
    """sha256 and size of every file of the bundle but the manifest itself, by path."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in (MANIFEST, "SHA256SUMS"):
            continue
        data = path.read_bytes()
        files[relative] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return (json.dumps({"algorithm": "sha256", "files": files}, indent=1, sort_keys=True)
            + "\n").encode("utf-8")


def sha256sums(manifest: bytes) -> bytes:
    """The manifest in `sha256sum -c` form."""
    files = json.loads(manifest)["files"]
    return "".join(f"{v['sha256']}  {k}\n" for k, v in sorted(files.items())).encode("utf-8")


def _readme(products: list[list[Product]], *, publisher: str) -> bytes:
    lines = [f"Open data published by {publisher}.", "",
             "One folder per public indicator under indicators/: the whole-area value per "
             "period, and per H3 resolution every published cell as CSV, GeoJSON (H3 cell "
             "polygons) and Parquet. Cells resting on fewer people (or objects) than the "
             "indicator's min_count are withheld; small cells are merged into their parent "
             "hexagon (area = merged) and complementary cells withheld so that no hidden "
             "figure can be recovered by subtraction.",
             "Numbers in CSV and GeoJSON are rounded for reading, by unit: shares (%) to one "
             "decimal and within 0-100, counts, residents, numerators and denominators to "
             "whole numbers, rates and other measures to three significant figures. Parquet "
             "keeps the full precision of the computation.",
             "catalog.jsonld: DCAT-AP catalogue. manifest.json, SHA256SUMS: file hashes.", "",
             "Licences and citations:"]
    for group in products:
        lines += [f"- {p.stem}: {p.citation}" for p in group]
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class BundleSummary:
    """What `publish_bundle` wrote."""

    outdir: Path
    indicators: int
    files: int


def publish_bundle(store: Path, outdir: Path, *, indicators: Path | None = None,
                   publisher: str = DEFAULT_PUBLISHER,
                   base_url: str | None = None) -> BundleSummary:
    """Write the open-data bundle of every public indicator of `store` into `outdir`.

    The bundle is written next to `outdir` and swapped in when complete; an existing
    `outdir` must be empty or a previous bundle (it is replaced).
    """
    con = connect_read(store)
    try:
        registry = load_registry(indicators or indicators_dir(),
                                 known_inputs=known_datasets(con))
        specs = public_indicators(con, registry)
        products = [indicator_products(con, loaded, publisher=publisher) for loaded in specs]
        staging = _prepare(outdir)
        hashes = {}
        for group in products:
            for product in group:
                for file_format in FORMATS:
                    path = product_path(product, file_format=file_format)
                    hashes[path] = _write(staging, path,
                                          product_bytes(product, file_format=file_format))
        _write(staging, "catalog.jsonld", catalogue_bytes(
            con, specs, products, publisher=publisher, hashes=hashes, base_url=base_url))
    finally:
        con.close()
    _write(staging, "README.txt", _readme(products, publisher=publisher))
    manifest = manifest_bytes(staging)
    _write(staging, MANIFEST, manifest)
    _write(staging, "SHA256SUMS", sha256sums(manifest))
    _swap(staging, outdir)
    count = sum(1 for p in outdir.rglob("*") if p.is_file())
    return BundleSummary(outdir=outdir, indicators=len(specs), files=count)

