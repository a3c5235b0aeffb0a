"""`observatory publish`: byte-identical bundles, DCAT-AP catalogue, round-tripping files,
nothing internal and nothing below min_count."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
import rdflib
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from observatory.cli import main
from observatory.datasets import known_datasets
from observatory.publish import (
    csv_bytes,
    geojson_bytes,
    indicator_products,
    parquet_bytes,
    publish_bundle,
    rounded_table,
)
from observatory.registry.loader import load_registry
from observatory.settings import indicators_dir
from observatory.store import connect_read

INTERNAL = ("residents_modelled_count", "service_requests_open_count")
CSV_COLUMNS = ["indicator", "period", "resolution", "h3_cell", "value", "numerator",
               "denominator"]


@pytest.fixture(scope="module")
def bundle(helsinki_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "open-data"
    assert main(["publish", str(out), "--store", str(helsinki_store)]) == 0
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_publishing_twice_gives_byte_identical_files(bundle: Path, helsinki_store: Path,
                                                     tmp_path: Path) -> None:
    again = tmp_path / "again"
    publish_bundle(helsinki_store, again)
    first, second = _files(bundle), _files(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    publish_bundle(helsinki_store, again)  # over a previous bundle: replaced, same bytes
    assert _files(again) == second


def test_manifest_hashes_every_file(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())["files"]
    files = _files(bundle)
    assert set(manifest) == set(files) - {"manifest.json", "SHA256SUMS"}
    for path, entry in manifest.items():
        assert hashlib.sha256(files[path]).hexdigest() == entry["sha256"]
        assert len(files[path]) == entry["bytes"]


def test_no_internal_indicator_and_no_small_cell_is_published(bundle: Path,
                                                              helsinki_store: Path) -> None:
    names = {p.name for p in (bundle / "indicators").iterdir()}
    assert names and not names & set(INTERNAL)
    text = (bundle / "catalog.jsonld").read_text() + (bundle / "README.txt").read_text()
    assert not any(name in text for name in INTERNAL)
    con = connect_read(helsinki_store)
    registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
    con.close()
    for path in (bundle / "indicators").rglob("*.csv"):
        frame = pl.read_csv(path, schema_overrides={"period": pl.String})
        spec = registry.get(frame["indicator"][0]).spec
        column = "denominator" if spec.aggregation == "ratio" else "value"
        assert frame.columns[:7] == CSV_COLUMNS
        assert (frame[column] >= spec.min_count).all(), path


# rdflib's own JSON-LD parser builds a ConjunctiveGraph, which rdflib 7.6 deprecates.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_dcat_catalogue_parses_and_has_the_mandatory_properties(bundle: Path) -> None:
    graph = rdflib.Graph()
    graph.parse(data=(bundle / "catalog.jsonld").read_text(), format="json-ld",
                publicID="http://127.0.0.1/open-data/catalog.jsonld")
    catalogues = list(graph.subjects(RDF.type, DCAT.Catalog))
    assert len(catalogues) == 1
    catalogue = catalogues[0]
    for prop in (DCTERMS.title, DCTERMS.description, DCTERMS.publisher, DCAT.dataset):
        assert graph.value(catalogue, prop) is not None, prop
    assert graph.value(graph.value(catalogue, DCTERMS.publisher), FOAF.name) is not None
    datasets = list(graph.objects(catalogue, DCAT.dataset))
    assert len(datasets) == len(list((bundle / "indicators").iterdir()))
    for dataset in datasets:
        for prop in (DCTERMS.title, DCTERMS.description, DCAT.distribution, DCTERMS.temporal,
                     DCTERMS.spatial, DCTERMS.publisher):
            assert graph.value(dataset, prop) is not None, (dataset, prop)
        temporal = graph.value(dataset, DCTERMS.temporal)
        assert graph.value(temporal, DCAT.startDate) is not None
        for distribution in graph.objects(dataset, DCAT.distribution):
            access = graph.value(distribution, DCAT.accessURL)
            assert access is not None and graph.value(distribution, DCTERMS.license)
            local = str(access).removeprefix("http://127.0.0.1/open-data/")
            assert (bundle / local).is_file(), local


def test_downloads_round_trip(helsinki_store: Path) -> None:
    con = connect_read(helsinki_store)
    try:
        registry = load_registry(indicators_dir(), known_inputs=known_datasets(con))
        products = indicator_products(con, registry.get("grocery_15min_walk_share"))
    finally:
        con.close()
    product = next(p for p in products if p.resolution == 10)
    table = rounded_table(product)  # CSV and GeoJSON: numbers for people
    from_csv = pl.read_csv(io.BytesIO(csv_bytes(product)), schema=table.schema)
    assert from_csv.equals(table)
    parquet = pq.read_table(io.BytesIO(parquet_bytes(product)))
    assert pl.from_arrow(parquet).equals(product.table)  # Parquet: full precision
    assert parquet.schema.metadata[b"citation"].decode() == product.citation
    assert parquet.schema.metadata[b"precision"].decode().startswith("full precision")
    geojson = json.loads(geojson_bytes(product))
    rows = [feature["properties"] for feature in geojson["features"]]
    assert pl.DataFrame(rows, schema=table.schema).equals(table)
    assert "one decimal" in geojson["precision"]
    assert geojson["licence"] == "ODbL-1.0" and "ODbL" in product.citation
    kinds = {f["geometry"]["type"] for f in geojson["features"]}
    assert kinds <= {"Polygon", "MultiPolygon"} and "merged" in table["area"].to_list()


def test_publish_refuses_a_folder_that_is_not_a_bundle(helsinki_store: Path,
                                                       tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["publish", str(tmp_path), "--store", str(helsinki_store)]) == 2
    assert "not an open-data bundle" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_csv_and_geojson_carry_no_float_noise(bundle: Path) -> None:
    """Shares within [0, 100] to one decimal, whole residents, no `100.00000000000001`."""
    noise = re.compile(r"\d\.\d*(0{6,}|9{6,})\d")
    texts = [p for p in (bundle / "indicators").rglob("*") if p.suffix in (".csv", ".geojson")]
    assert texts
    for path in texts:
        text = path.read_text()
        assert not noise.search(text), (path, noise.search(text))
    for path in (bundle / "indicators").rglob("*.csv"):
        frame = pl.read_csv(path, schema_overrides={"period": pl.String})
        if frame["unit"][0] == "percent":
            assert frame["value"].is_between(0, 100).all(), path
            assert (frame["value"] * 10).round(6).eq((frame["value"] * 10).round(0)).all()
        assert frame["denominator"].dtype in (pl.Int64, pl.String), path  # whole numbers
