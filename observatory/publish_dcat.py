"""The bundle's DCAT-AP catalogue in JSON-LD: one `dcat:Dataset` per public indicator.

Mandatory DCAT-AP properties are always present (Catalog: title, description, publisher,
dataset; Dataset: title, description; Distribution: accessURL; Agent: name), with the
recommended ones the store can fill: distributions with licence, format, media type, byte
size and sha256 checksum; temporal and spatial coverage; publisher; theme; keywords.
IRIs are relative to the catalogue file unless `base_url` is given, so the bundle can be
served from anywhere. The context is inline: parsing needs no network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import duckdb

from observatory.publish_product import (
    FORMATS,
    MEDIA_TYPES,
    Product,
    precision_note,
    product_path,
)
from observatory.registry.spec import LoadedSpec, Text, languages_of, text_in

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "spdx": "http://spdx.org/rdf/terms#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}
EU = "http://publications.europa.eu/resource/authority/"
FILE_TYPES = {"csv": "CSV", "geojson": "GEOJSON", "parquet": "PARQUET"}
DATA_THEMES = {"accessibility": "REGI", "mobility": "TRAN", "climate": "ENVI",
               "services": "GOVE", "land_use": "REGI", "population": "SOCI"}


def _text(value: str, language: str = "en") -> dict[str, str]:
    return {"@value": value, "@language": language}


def _texts(value: Text) -> list[dict[str, str]]:
    """One language-tagged literal per language the text is written in, English first."""
    languages = sorted(languages_of(value), key=lambda lang: (lang != "en", lang))
    return [_text(text_in(value, lang).strip(), lang) for lang in languages]


def _typed(value: object, datatype: str) -> dict[str, object]:
    return {"@value": value, "@type": datatype}


def _bbox(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT min(lon), min(lat), max(lon), max(lat) FROM study_cells"
                       ).fetchall()
    if not rows or rows[0][0] is None:
        return None
    w, s, e, n = (round(float(v), 6) for v in rows[0])
    return f"POLYGON(({w} {s},{e} {s},{e} {n},{w} {n},{w} {s}))"


def _temporal(periods: tuple[str, ...]) -> dict[str, object] | None:
    if not periods:
        return None
    start, end = periods[0], periods[-1]
    if start.isdigit() and end.isdigit():  # yearly periods
        start, end = f"{start}-01-01", f"{end}-12-31"
    return {"@type": "dct:PeriodOfTime", "dcat:startDate": _typed(start, "xsd:date"),
            "dcat:endDate": _typed(end, "xsd:date")}


def _distribution(product: Product, file_format: str,
                  hashes: Mapping[str, tuple[str, int]]) -> dict[str, object]:
    path = product_path(product, file_format=file_format)
    digest, size = hashes[path]
    licence: dict[str, object] = ({"@id": product.licence_uri} if product.licence_uri
                                  else {"rdfs:label": product.licence})
    licence["@type"] = "dct:LicenseDocument"
    return {
        "@id": path, "@type": "dcat:Distribution",
        "dcat:accessURL": {"@id": path}, "dcat:downloadURL": {"@id": path},
        "dct:title": _text(f"{product.stem}.{file_format}"),
        "dct:description": _text(f"{product.citation} Precision: "
                                 f"{precision_note(product.unit, file_format=file_format)}."),
        "dct:format": {"@id": f"{EU}file-type/{FILE_TYPES[file_format]}"},
        "dcat:mediaType": {"@id": "https://www.iana.org/assignments/media-types/"
                                  + MEDIA_TYPES[file_format]},
        "dct:license": licence,
        "dcat:byteSize": _typed(size, "xsd:nonNegativeInteger"),
        "spdx:checksum": {"@type": "spdx:Checksum",
                          "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                          "spdx:checksumValue": _typed(digest, "xsd:hexBinary")},
    }


def _dataset(loaded: LoadedSpec, products: list[Product], *, bbox: str | None,
             hashes: Mapping[str, tuple[str, int]]) -> dict[str, object]:
    spec = loaded.spec
    first = products[0]
    dataset: dict[str, object] = {
        "@id": f"#dataset-{spec.name}", "@type": "dcat:Dataset",
        "dct:identifier": spec.name, "dct:title": _texts(spec.label),
        "dct:description": _texts(spec.description),
        "dct:publisher": {"@id": "#publisher"},
        "dcat:theme": {"@id": f"{EU}data-theme/{DATA_THEMES.get(spec.theme, 'REGI')}"},
        "dcat:keyword": [_text(spec.theme.replace("_", " ")), _text(spec.unit_label)],
        "dct:accessRights": {"@id": f"{EU}access-right/PUBLIC"},
        "dct:conformsTo": {"@type": "dct:Standard", "rdfs:label": _texts(spec.method.standard)},
        "dct:provenance": {"@type": "dct:ProvenanceStatement",
                           "rdfs:label": _texts(spec.method.deviations)},
        "dcat:distribution": [_distribution(p, f, hashes) for p in products for f in FORMATS],
    }
    if first.computed_at is not None:
        dataset["dct:modified"] = _typed(first.computed_at.isoformat(), "xsd:dateTime")
    if (temporal := _temporal(first.periods)) is not None:
        dataset["dct:temporal"] = temporal
    if bbox:
        dataset["dct:spatial"] = {"@type": "dct:Location",
                                  "dcat:bbox": _typed(bbox, "gsp:wktLiteral")}
    return dataset


def catalogue_document(con: duckdb.DuckDBPyConnection, specs: list[LoadedSpec],
                       products: list[list[Product]], *, publisher: str,
                       hashes: Mapping[str, tuple[str, int]],
                       base_url: str | None = None) -> dict[str, object]:
    """The catalogue as a JSON-LD document (a dict)."""
    bbox = _bbox(con)
    context: dict[str, object] = dict(CONTEXT)
    if base_url:
        context["@base"] = base_url
    dates = [p[0].computed_at for p in products if p and p[0].computed_at is not None]
    catalogue: dict[str, object] = {
        "@context": context, "@id": "#catalog", "@type": "dcat:Catalog",
        "dct:title": [_text("Open indicators of the metropolitan observatory"),
                      _text("Indicateurs ouverts de l'observatoire métropolitain", "fr")],
        "dct:description": _text(
            "Public indicators on an H3 hexagon grid, disclosure-controlled (cells resting "
            "on fewer than each indicator's min_count are withheld or merged)."),
        "dct:publisher": {"@id": "#publisher", "@type": "foaf:Agent",
                          "foaf:name": _text(publisher)},
        "dct:language": [{"@id": f"{EU}language/ENG"}, {"@id": f"{EU}language/FRA"}],
        "dcat:dataset": [_dataset(loaded, group, bbox=bbox, hashes=hashes)
                         for loaded, group in zip(specs, products, strict=True) if group],
    }
    if dates:
        catalogue["dct:modified"] = _typed(max(dates).isoformat(), "xsd:dateTime")
    return catalogue


def catalogue_bytes(con: duckdb.DuckDBPyConnection, specs: list[LoadedSpec],
                    products: list[list[Product]], *, publisher: str,
                    hashes: Mapping[str, tuple[str, int]],
                    base_url: str | None = None) -> bytes:
    """The catalogue serialised deterministically (sorted keys, UTF-8)."""
    document = catalogue_document(con, specs, products, publisher=publisher, hashes=hashes,
                                  base_url=base_url)
    return (json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
            + "\n").encode("utf-8")
