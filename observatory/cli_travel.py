"""`observatory travel-times ...` and `observatory bench walks`.

`travel-times` writes the walking travel-time matrix between two files of places on the
store's walking network (CSV `from_id, to_id, distance_m, minutes`; empty where a pair
is unreachable) and lists the places that could not be snapped on stderr, with their
distance to the network. `bench walks` compares our walks with Valhalla's and times edge
snapping against nearest-node snapping; its JSON summary is the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from observatory.errors import InputError
from observatory.settings import existing_store_path

if TYPE_CHECKING:
    from observatory.travel_times import Places


# travel_times's default (importing it here would load NumPy, SciPy and Polars with the
# parser; tests/test_travel_times.py keeps the two equal)
DEFAULT_SPEED_KMH = 4.8


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `travel-times` and `bench walks` (cli.COMMAND_MODULES)."""
    parser = sub.add_parser(
        "travel-times", help="walking times between places on the store's network",
        description="Walking distance and minutes from every origin to every destination "
        "on the store's walking network (like r5py's travel-time matrix).")
    parser.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                        "var/observatory.duckdb)")
    parser.add_argument("--origins", required=True, help="CSV (id, lat, lon) or GeoJSON "
                        "points with an id")
    parser.add_argument("--destinations", required=True, help="same format as --origins")
    parser.add_argument("--speed-kmh", type=float, default=DEFAULT_SPEED_KMH,
                        help=f"walking speed (default {DEFAULT_SPEED_KMH})")
    parser.add_argument("--out", required=True, help="CSV file to write")
    parser.set_defaults(handler=travel_times_command)
    bench = sub.choices.get("bench")
    inner = next((a for a in bench._actions if isinstance(a, argparse._SubParsersAction)),
                 None) if bench is not None else None
    if inner is not None:
        walks = inner.add_parser("walks", help="our walks vs Valhalla's; edge vs node snapping")
        walks.add_argument("--store", help="unused; accepted like every command's")
        walks.set_defaults(handler=bench_walks_command)


def travel_times_command(args: argparse.Namespace) -> int:
    """Write the matrix; exit 2 on bad input."""
    from observatory.network import graph_from_store
    from observatory.store import connect_read
    from observatory.travel_times import travel_time_matrix

    origins = _read(args.origins, "--origins")
    destinations = _read(args.destinations, "--destinations")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist; create it first.")
    con = connect_read(existing_store_path(args.store))
    try:
        graph = graph_from_store(con)
    finally:
        con.close()
    result = travel_time_matrix(graph, origins, destinations, speed_kmh=args.speed_kmh)
    result.pairs.write_csv(out)
    for row in result.unsnapped.iter_rows(named=True):
        print(f"not snapped: {row['role']} {row['id']} is {row['distance_m']:.0f} m from the "
              "walking network (limit 250 m); its pairs are empty.", file=sys.stderr)
    reached = result.pairs["distance_m"].is_not_null().sum()
    print(f"{out}: {result.pairs.height} pairs, {reached} reachable, "
          f"{result.unsnapped.height} places not snapped", file=sys.stderr)
    return 0


def _read(path: str, flag: str) -> Places:
    from observatory.travel_times import read_places

    try:
        return read_places(Path(path))
    except InputError as error:
        raise InputError(f"{flag}: {error}") from None


def bench_walks_command(args: argparse.Namespace) -> int:
    """Run the walks benchmark and print its JSON summary as the last line."""
    from observatory.bench import walks

    print(json.dumps(walks.main()))
    return 0
