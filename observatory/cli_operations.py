"""`observatory watch`, `demo --live` and `observatory bench operations`.

Handlers import what they need when they run, so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from pathlib import Path

from observatory.settings import existing_store_path, serve_command


def watch_command(args: argparse.Namespace) -> int:
    """Append the files dropped in a folder to one source, until Ctrl-C (or one pass)."""
    from observatory.connectors import stderr_progress
    from observatory.watch import watch

    summary = watch(existing_store_path(args.store), Path(args.folder), source_id=args.source,
                    kind=args.kind, interval=args.interval, settle=args.settle,
                    once=args.once, progress=stderr_progress("watch"))
    print(f"{len(summary.appended)} files appended, {len(summary.rejected)} rejected",
          file=sys.stderr)
    return 0


def serve_live(path: Path, *, port: int, address: str, every: float) -> int:
    """Serve the dashboard while the simulated network reports in real time."""
    from observatory.connectors import stderr_progress
    from observatory.live import run_live_feed

    command, env = serve_command(path, port=port, address=address, demo=True)
    print(f"Dashboard on http://{address}:{port} with live simulated readings every "
          f"{every:g} s (Ctrl-C to stop)", file=sys.stderr)
    server = subprocess.Popen(command, env=env)
    stopped = threading.Event()
    try:
        run_live_feed(path, every=every, stop=lambda: stopped.is_set() or
                      server.poll() is not None, progress=stderr_progress("live"))
    except KeyboardInterrupt:
        stopped.set()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


def bench_operations(args: argparse.Namespace) -> int:
    """Run the operations benchmark; its JSON summary is the last line."""
    from observatory.bench import ops_main

    print(json.dumps(ops_main.main(readings=args.readings, actions=args.actions,
                                     clients=args.clients, builds=args.builds,
                                     stations=args.stations, cadence_s=args.cadence_s)))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `watch` and `bench operations`."""
    watch = sub.add_parser("watch", help="append files a gateway drops in a folder",
                           description=watch_command.__doc__)
    watch.add_argument("folder", help="the folder to watch")
    watch.add_argument("--source", required=True, help="the loaded source to append to")
    watch.add_argument("--kind", default="timeseries", help="connector (default timeseries)")
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between looks")
    watch.add_argument("--settle", type=float, default=1.0,
                       help="seconds a file must be unchanged before it is taken")
    watch.add_argument("--once", action="store_true", help="take what is there, then stop")
    watch.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                       "var/observatory.duckdb)")
    watch.set_defaults(handler=watch_command)
    bench_group = sub.choices["bench"]
    bench_sub = next(a for a in bench_group._actions
                     if isinstance(a, argparse._SubParsersAction))
    bench = bench_sub.add_parser("operations", help="concurrent alert actions during builds, "
                                 "and appends against a full rebuild")
    bench.add_argument("--readings", type=int, default=10_000_000,
                       help="readings in the store appended to (default 10M)")
    bench.add_argument("--stations", type=int, default=96,
                       help="stations of the synthetic source (default 96)")
    bench.add_argument("--cadence-s", type=int, default=600,
                       help="seconds between a station's readings (default 600)")
    bench.add_argument("--actions", type=int, default=200, help="alert actions (default 200)")
    bench.add_argument("--clients", type=int, default=20, help="concurrent clients")
    bench.add_argument("--builds", type=int, default=3, help="builds run meanwhile")
    bench.set_defaults(handler=bench_operations)
    load = bench_sub.add_parser("load", help="page loads of concurrent sessions against the "
                                "dashboard server, driven over Streamlit's websocket protocol")
    load.add_argument("--store", help="store file (default: the demo store)")
    load.add_argument("--sessions", type=int, default=10, help="concurrent sessions (10)")
    load.add_argument("--rounds", type=int, default=3, help="rounds of every page (3)")
    load.add_argument("--url", help="a running server (default: start the demo server)")
    load.add_argument("--pid", type=int, help="the running server's process, for its CPU")
    load.add_argument("--browser", action="store_true",
                      help="also open every page once in headless Chromium (cross-check)")
    load.set_defaults(handler=bench_load)


def bench_load(args: argparse.Namespace) -> int:
    """Run the load benchmark; its JSON summary is the last line."""
    from observatory.bench import load

    store = existing_store_path(args.store) if args.url is None else Path(".")
    print(json.dumps(load.main(store=store, url=args.url, pid=args.pid, sessions=args.sessions,
                               rounds=args.rounds, browser=args.browser)))
    return 0
