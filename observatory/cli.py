"""`observatory ...`: build, ingest, validate, compute, list and serve.

Exit codes: 0 success; 2 bad input (a message, no traceback); 1 internal error.

Building the parser imports no heavy library (Polars, DuckDB, NumPy, SQLAlchemy...): the
command modules import them inside the handlers, and `ingest`'s subcommands (one per
installed connector) are added when `ingest` itself is parsed, since listing connectors
loads their modules. tests/test_cli_speed.py holds the import-time budget.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from observatory import cli_drafts, commands
from observatory.errors import InputError

Handler = Callable[[argparse.Namespace], int]
Fill = Callable[[argparse.ArgumentParser], None]
# Modules that add their own commands: each has `add_commands(sub)`, where `sub` is the
# top-level subparsers action; their handlers take the parsed arguments and return the
# exit code, and raise InputError for bad input like every other command.
COMMAND_MODULES: tuple[str, ...] = ("observatory.cli_forecast", "observatory.cli_publish",
                                    "observatory.cli_alerts", "observatory.cli_operations",
                                    "observatory.cli_travel", "observatory.cli_users",
                                    "observatory.cli_scenario")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that completes itself (`fill`) the first time it is used."""

    fill: Fill | None = None

    def _filled(self) -> None:
        fill, self.fill = self.fill, None
        if fill is not None:
            fill(self)

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._filled()
        return super().format_help()


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = False) -> None:
    parser.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                        "var/observatory.duckdb)")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON")


def _indicators_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--indicators", help="indicator folder (default: indicators/)")


def _engine_args(parser: argparse.ArgumentParser, *, master: bool = True) -> None:
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="where the definitions run (default duckdb; spark needs "
                        "`uv sync --extra spark` and a Java runtime)")
    if master:
        parser.add_argument("--master", default="local[*]",
                            help="Spark master: local[*] (default), spark://HOST:PORT or "
                            "sc://HOST:PORT (Spark Connect)")


def _add(sub: argparse._SubParsersAction, name: str, handler: Handler, help_text: str,
         *, json_flag: bool = False) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    _common(parser, json_flag=json_flag)
    parser.set_defaults(handler=handler)
    return parser


def _serve_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--address", default="localhost", help="address to listen on")


def _indicator_commands(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("indicators", help="list, validate or compute indicators")
    inner = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = _add(inner, "list", commands.indicators_list, "list every indicator",
                   json_flag=True)
    _indicators_arg(listing)
    validate = _add(inner, "validate", commands.indicators_validate,
                    "validate every definition; exit 2 on any problem")
    _indicators_arg(validate)
    _engine_args(validate, master=False)
    compute = _add(inner, "compute", commands.indicators_compute,
                   "compute indicators into the store", json_flag=True)
    _indicators_arg(compute)
    _engine_args(compute)
    compute.add_argument("names", nargs="*", help="indicators to compute (default: all)")
    lineage = _add(inner, "lineage", commands.indicators_lineage,
                   "an indicator's inputs back to the sources, forward to alert rules and "
                   "pages", json_flag=True)
    _indicators_arg(lineage)
    lineage.add_argument("name", help="the indicator")
    _add(inner, "drafts", cli_drafts.indicators_drafts,
         "list the indicator drafts made in the app")
    imported = _add(inner, "import-draft", cli_drafts.indicators_import_draft,
                    "write a draft made in the app into the indicator folder as YAML + SQL")
    _indicators_arg(imported)
    imported.add_argument("id", type=int, help="the draft's number")
    imported.add_argument("--version", type=int, help="a version (default: the latest)")


def _ingest_commands(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("ingest", help="load a source file into the store",
                           description="Load a source file into the store with one of the "
                           "installed connectors (KIND).")
    group.fill = _connector_commands  # loading connectors imports their libraries


def _connector_commands(group: argparse.ArgumentParser) -> None:
    """`ingest KIND` for every connector registered under the entry-point group."""
    from observatory.connectors import available_connectors

    inner = group.add_subparsers(dest="kind", required=True, metavar="KIND")
    for name, connector in sorted(available_connectors().items()):
        parser = _add(inner, name, commands.ingest, f"load {connector.help}")
        parser.add_argument("path", help="the portal's base URL" if connector.takes_url
                            else "the file to load")
        _indicators_arg(parser)
        appends = connector.append is not None
        if appends:
            parser.add_argument("--append", action="store_true", help="add the file's new "
                                "rows to the loaded source given by --source (read with that "
                                "source's options; rows already loaded are skipped)")
            parser.add_argument("--source", help="the source to append to "
                                "(`observatory datasets list`)")
        for option in connector.options:
            flag, dest = f"--{option.name.replace('_', '-')}", f"opt_{option.name}"
            if option.kind is bool:  # a switch: given or not
                parser.add_argument(flag, dest=dest, action="store_true", help=option.help)
                continue
            # with --append the source's own options apply, so none is required here
            parser.add_argument(flag, dest=dest,
                                help=option.help + (" (required)" if option.required else ""),
                                required=option.required and not appends,
                                default=option.default, type=option.kind,
                                choices=option.choices)


def _bench_commands(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("bench", help="benchmarks against the common peer approach")
    inner = group.add_subparsers(dest="bench", required=True, metavar="BENCH")
    acc = inner.add_parser("accessibility", help="walking distances: scipy vs networkx")
    acc.add_argument("--nodes", type=int, default=1_000_000, help="graph size (default 1M)")
    acc.set_defaults(handler=commands.bench_accessibility)
    ingest = inner.add_parser("ingest", help="sensor readings: ours vs pandas + per-row h3")
    ingest.add_argument("--rows", type=int, default=10_000_000, help="rows (default 10M)")
    ingest.set_defaults(handler=commands.bench_ingest)
    drafts = inner.add_parser("drafts", help="draft validation as you type and previews: "
                              "ours vs `indicators validate` and `indicators compute`")
    drafts.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                        "var/observatory.duckdb; the demo is built when missing)")
    drafts.add_argument("--edits", type=int, default=50, help="edits validated (default 50)")
    drafts.add_argument("--previews", type=int, default=10, help="previews (default 10)")
    drafts.set_defaults(handler=cli_drafts.bench_drafts)
    spark = inner.add_parser("spark", help="climate and service indicators, hourly means "
                             "and walking access by region: DuckDB vs Spark local[2]")
    spark.add_argument("--readings", type=int, default=50_000_000,
                       help="simulated sensor readings (default 50M)")
    spark.add_argument("--nodes", type=int, default=1_000_000,
                       help="nodes of the tiled walking network (default 1M)")
    spark.add_argument("--region-resolution", type=int, default=5,
                       help="H3 resolution of the regions (default 5)")
    spark.add_argument("--store", help="the demo store to start from (built when missing)")
    spark.set_defaults(handler=commands.bench_spark)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    parser = _Parser(prog="observatory", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = _add(sub, "demo", commands.demo,
                "build the embedded Helsinki store if missing, then serve the dashboard")
    demo.add_argument("--rebuild", action="store_true", help="rebuild the store first")
    demo.add_argument("--no-serve", action="store_true", help="build only")
    demo.add_argument("--live", action="store_true", help="also run the simulated sensor "
                      "network in real time through the append path (flagged simulated)")
    demo.add_argument("--every", type=float, default=5.0,
                      help="seconds between live readings (default 5)")
    demo.add_argument("--as-of", metavar="YYYY-MM-DD", help="the date the simulated feeds "
                      "run up to (default: $OBSERVATORY_DEMO_DATE, else today, UTC); the same "
                      "date gives the same data; a store built for another date is rebuilt")
    _serve_args(demo)
    build = _add(sub, "build", commands.build,
                 "ingest the sources a config file lists, then compute every indicator")
    build.add_argument("--config", help="YAML file listing sources: {sources: [{type, path}]}")
    _indicators_arg(build)
    _engine_args(build)
    _ingest_commands(sub)
    _indicator_commands(sub)
    datasets = sub.add_parser("datasets", help="the sources and tables in the store")
    inner = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(inner, "list", commands.datasets_list, "list every source with its provenance",
         json_flag=True)
    snapshots = sub.add_parser("snapshots", help="the store's immutable snapshots")
    inner = snapshots.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add(inner, "list", commands.snapshots_list, "list the kept snapshots, newest first",
         json_flag=True)
    prune = _add(inner, "prune", commands.snapshots_prune,
                 "delete all but the newest snapshots (never the current one)")
    prune.add_argument("--keep", type=int, help="how many to keep (default: "
                       "$OBSERVATORY_KEEP_SNAPSHOTS or 5)")
    serve = _add(sub, "serve", commands.serve, "serve the dashboard on an existing store")
    _serve_args(serve)
    _bench_commands(sub)
    for module in COMMAND_MODULES:
        importlib.import_module(module).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `observatory` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # an internal error: say so, keep the traceback for a report
        if os.environ.get("OBSERVATORY_DEBUG"):
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}\n(set OBSERVATORY_DEBUG=1 for "
              "the traceback and report it)", file=sys.stderr)
        return 1


def print_json(payload: object) -> None:
    """Print one JSON document on stdout."""
    print(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
