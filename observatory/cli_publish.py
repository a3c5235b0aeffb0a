"""`observatory publish OUTDIR`: the static open-data bundle of every public indicator;
`observatory brief --pdf OUT [--html OUT]`: the officials' one-page council brief."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from observatory.publish_product import DEFAULT_PUBLISHER  # not publish: it loads Polars
from observatory.settings import existing_store_path, indicators_dir


def publish(args: argparse.Namespace) -> int:
    """Write the bundle; the same store always gives byte-identical files."""
    from observatory.publish import publish_bundle

    store = existing_store_path(args.store)
    summary = publish_bundle(store, Path(args.outdir).expanduser().resolve(),
                             indicators=indicators_dir(args.indicators),
                             publisher=args.publisher, base_url=args.base_url)
    print(f"Published {summary.indicators} public indicators ({summary.files} files) to "
          f"{summary.outdir}; hashes in manifest.json.", file=sys.stderr)
    return 0


def brief(args: argparse.Namespace) -> int:
    """Write the council brief as PDF and/or HTML (exit 2 when neither is asked for)."""
    import datetime as dt

    from observatory.datasets import known_datasets
    from observatory.errors import InputError
    from observatory.registry import load_registry
    from observatory.roles import Role
    from observatory.store import connect_read
    from observatory.views import brief as briefs

    if not args.pdf and not args.html:
        raise InputError("say where to write the brief: --pdf OUT.pdf and/or --html OUT.html.")
    con = connect_read(existing_store_path(args.store))
    try:
        registry = load_registry(indicators_dir(args.indicators),
                                 known_inputs=known_datasets(con))
        made = briefs.officials_brief(con, registry, role=Role.OFFICIALS,
                                      today=f"{dt.date.today():%d %b %Y}")
    finally:
        con.close()
    for path, data in ((args.pdf, lambda: briefs.brief_pdf(made)),
                       (args.html, lambda: briefs.brief_html(made).encode("utf-8"))):
        if path:
            Path(path).expanduser().write_bytes(data())
            print(f"Brief written to {path}", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `observatory publish`."""
    text = ("write the open-data bundle: CSV, GeoJSON and Parquet per public indicator and "
            "resolution, a DCAT-AP catalogue (JSON-LD) and a sha256 manifest")
    parser = sub.add_parser("publish", help=text, description=text)
    parser.add_argument("outdir", help="folder to write (new, empty, or a previous bundle)")
    parser.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                        "var/observatory.duckdb)")
    parser.add_argument("--indicators", help="indicator folder (default: indicators/)")
    parser.add_argument("--publisher", default=DEFAULT_PUBLISHER,
                        help=f"publisher named in the catalogue (default: {DEFAULT_PUBLISHER})")
    parser.add_argument("--base-url", help="absolute URL the bundle will be served from "
                        "(default: IRIs relative to catalog.jsonld)")
    parser.set_defaults(handler=publish)
    text = "write the officials' one-page council brief (PDF and/or HTML)"
    brief_parser = sub.add_parser("brief", help=text, description=text)
    brief_parser.add_argument("--pdf", help="write the PDF here")
    brief_parser.add_argument("--html", help="write the HTML page here")
    brief_parser.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                              "var/observatory.duckdb)")
    brief_parser.add_argument("--indicators", help="indicator folder (default: indicators/)")
    brief_parser.set_defaults(handler=brief)
