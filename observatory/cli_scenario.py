"""`observatory scenario run FILE` and `observatory bench scenario`.

`scenario run` applies a scenario file (observatory/scenarios/spec.py) to the store's
walking-access model and prints, for every category it touches, the 15-minute score and
SDG 11.2.1: residents within reach before and after and the change, for the whole area and
per district (`--json` for one JSON document). `bench scenario` times one facility added
on the ~1 M-node graph against the full recompute; its JSON summary is the last line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from observatory.settings import existing_store_path


def scenario_run(args: argparse.Namespace) -> int:
    """Print the scenario's before and after figures; exit 2 on a bad file or edit."""
    from observatory.accessibility import model_from_store
    from observatory.scenarios import WhatIf, apply_scenario, crosswalk, load_scenario, outcome
    from observatory.store import connect_read

    scenario = load_scenario(Path(args.file))
    con = connect_read(existing_store_path(args.store))
    try:
        model, districts = model_from_store(con), crosswalk(con)
    finally:
        con.close()
    result = outcome(WhatIf(model), apply_scenario(model, scenario), scenario, districts)
    if args.json:
        print(json.dumps({"scenario": scenario.name, "speed_kmh": scenario.speed_kmh,
                          "minutes": scenario.minutes, "whole": result.whole.to_dicts(),
                          "districts": result.districts.to_dicts()}, default=str))
        return 0
    count = len(scenario.edits)
    print(f"{scenario.name}: {count} edit{'s' if count != 1 else ''}, {scenario.minutes:g} "
          f"minutes at {scenario.speed_kmh:g} km/h")
    for row in result.whole.iter_rows(named=True):
        print(_line(row["measure"], row))
    if result.districts.height:
        print("Districts where something changes:")
        changed = result.districts.filter(result.districts["change"].abs() > 1e-9)
        for row in changed.iter_rows(named=True):
            print(_line(f"  {row['district']} · {row['measure']}", row))
    return 0


def _line(label: str, row: dict[str, object]) -> str:
    before, after = float(row["share_before"]), float(row["share_after"])  # type: ignore[arg-type]
    change = float(row["change"])  # type: ignore[arg-type]
    if row["unit"] != "% of residents":  # the 15-minute score: a mean number of functions
        return f"{label:<48} {before:.2f} → {after:.2f} functions ({change:+.2f})"
    residents = round(float(row["change_residents"]))  # type: ignore[arg-type]
    return (f"{label:<48} {before:.1f} → {after:.1f} % ({change:+.1f} pp; "
            f"{residents:+,} residents)")


def bench_scenario(args: argparse.Namespace) -> int:
    """Run the scenario benchmark; its JSON summary is the last line."""
    from observatory.bench import scenario as bench

    print(json.dumps(bench.main(nodes=args.nodes, repeats=args.repeats)))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `scenario run` and `bench scenario` (cli.COMMAND_MODULES)."""
    group = sub.add_parser("scenario", help="what-if scenarios on walking access")
    inner = group.add_subparsers(dest="scenario_action", required=True, metavar="ACTION")
    run = inner.add_parser("run", help="before and after figures of a scenario file",
                           description="Apply a scenario file (add, close, move facilities) "
                           "and print residents within reach before and after.")
    run.add_argument("file", help="the scenario YAML file")
    run.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                     "var/observatory.duckdb)")
    run.add_argument("--json", action="store_true", help="print one JSON document")
    run.set_defaults(handler=scenario_run)
    bench_group = sub.choices["bench"]
    bench_sub = next(a for a in bench_group._actions if isinstance(a, argparse._SubParsersAction))
    bench = bench_sub.add_parser("scenario", help="one facility added on ~1 M nodes, "
                                 "incremental against the full recompute")
    bench.add_argument("--nodes", type=int, default=1_000_000, help="graph size")
    bench.add_argument("--repeats", type=int, default=5, help="edits timed (median)")
    bench.set_defaults(handler=bench_scenario)
