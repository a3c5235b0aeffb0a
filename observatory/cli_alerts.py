"""`observatory alerts evaluate|list|ack|assign|comment|resolve|rules validate` and
`observatory bench alerts`.

Handlers import the alerts engine, the stores and their libraries when they run, so
building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from observatory.errors import InputError
from observatory.settings import existing_store_path, indicators_dir, store_path

if TYPE_CHECKING:
    from observatory.registry import Registry

# observatory.opsdb.schema.ALERT_STATES, spelled out: importing it loads SQLAlchemy, and
# `--state` needs the choices when the parser is built (tests/test_cli_speed.py checks
# that the two agree).
ALERT_STATES = ("firing", "acknowledged", "resolved")

LIST_FIELDS = (
    "id",
    "rule",
    "severity",
    "state",
    "place",
    "started_at",
    "ended_at",
    "value",
    "acknowledged_by",
    "comment",
    "assignee",
    "kind",
    "theme",
    "owner_team",
    "place_kind",
    "place_id",
    "h3_hex",
    "lat",
    "lon",
    "peak",
    "threshold",
    "unit",
    "message",
    "acknowledged_at",
    "resolved_by",
    "resolved_at",
)


def _store(args: argparse.Namespace) -> Path:
    return existing_store_path(args.store)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _registry(con: object, args: argparse.Namespace) -> Registry:
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry

    return load_registry(
        indicators_dir(getattr(args, "indicators", None)), known_inputs=known_datasets(con)
    )  # type: ignore[arg-type]


def _now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--now {text!r}: not an ISO date-time (e.g. 2025-01-02T08:00Z).") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def alerts_evaluate(args: argparse.Namespace) -> int:
    """Evaluate every rule on the current snapshot and merge the alerts into the
    operational database (one transaction)."""
    from observatory.alerts import evaluate_published, load_checked_rules
    from observatory.store import connect_read

    path = _store(args)
    con = connect_read(path)
    try:
        registry = _registry(con, args)
    finally:
        con.close()
    ruleset = load_checked_rules(_path(args.rules), registry)
    for problem in ruleset.secret_problems:  # the alerts are still recorded
        print(f"warning: notifications will fail: {problem}", file=sys.stderr)
    result = evaluate_published(path, registry, ruleset, now=_now(args.now))
    if args.json:
        print(json.dumps({**vars(result), "summary": result.summary()}, default=str, indent=2))
    else:
        print(result.summary())
        for status in result.statuses:
            if status["status"] != "ok":
                print(f"  {status['rule']}: {status['status']}: {status['message']}")
    return 0


def alerts_list(args: argparse.Namespace) -> int:
    """Alerts (from the operational database) as a table or a JSON list."""
    from observatory.alerts import list_alerts
    from observatory.opsdb import ops_database

    frame = list_alerts(ops_database(_store(args)), state=args.state)
    rows = frame.select(LIST_FIELDS).to_dicts()
    if args.json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['id']:>6} {row['severity']:8} {row['state']:12} {row['rule']:34} "
            f"{row['place']:36} {row['started_at']:%Y-%m-%d %H:%M}  {row['message']}"
        )
    print(f"{len(rows)} alerts", file=sys.stderr)
    return 0


def _os_user() -> str:
    """The operating-system user running the command."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def _act(action: str, **fields: str) -> object:
    def handler(args: argparse.Namespace) -> int:
        from observatory.alerts import act_on_store

        kwargs = {name: getattr(args, attr) for name, attr in fields.items()}
        kwargs["by"] = kwargs.get("by") or _os_user()
        act_on_store(_store(args), action, args.id, via="cli", **kwargs)
        print(f"alert {args.id}: {action} done, recorded as {kwargs['by']} (via cli)")
        return 0

    return handler


def rules_validate(args: argparse.Namespace) -> int:
    """Report every problem of the rule files, and every channel secret that cannot be
    resolved here, at once; exit 2 when any exists."""
    from observatory.alerts import alerts_dir, load_rules
    from observatory.datasets import known_datasets
    from observatory.registry import load_registry
    from observatory.store import connect_read

    path = store_path(args.store)
    con = connect_read(path) if path.exists() else None
    try:
        registry = load_registry(
            indicators_dir(args.indicators),
            known_inputs=known_datasets(con) if con else known_datasets(),
        )
    finally:
        if con is not None:
            con.close()
    ruleset = load_rules(_path(args.rules) or alerts_dir(), registry=registry)
    ruleset.raise_if_problems(secrets=True)
    print(
        f"{len(ruleset.rules)} alert rules and {len(ruleset.channels)} channels valid in "
        f"{ruleset.folder}"
    )
    return 0


def bench_alerts(args: argparse.Namespace) -> int:
    """Run the alerts benchmark; its JSON summary is the last line."""
    from observatory.alerts import bench

    print(
        json.dumps(bench.main(rules=args.rules, values=args.values, baseline=not args.no_baseline))
    )
    return 0


def _parser(
    inner: argparse._SubParsersAction, name: str, handler: object, help_text: str
) -> argparse.ArgumentParser:
    parser = inner.add_parser(name, help=help_text, description=help_text)
    parser.add_argument(
        "--store", help="store file (default: $OBSERVATORY_STORE or var/observatory.duckdb)"
    )
    parser.set_defaults(handler=handler)
    return parser


def _folders(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules", help="alert rules folder (default: $OBSERVATORY_ALERTS or alerts/)"
    )
    parser.add_argument("--indicators", help="indicator folder (default: indicators/)")


def _action_commands(inner: argparse._SubParsersAction) -> None:
    specs = (
        (
            "ack",
            "acknowledge",
            "acknowledge an alert: someone is on it",
            {"by": "by", "comment": "comment"},
            ("--by", "--comment"),
        ),
        (
            "assign",
            "assign",
            "assign an alert to a person or a team",
            {"to": "to", "by": "by", "comment": "comment"},
            ("--to", "--by", "--comment"),
        ),
        (
            "comment",
            "comment",
            "add a comment to an alert's trail",
            {"by": "by", "comment": "comment"},
            ("--by", "--comment"),
        ),
        (
            "resolve",
            "resolve",
            "resolve an alert by hand, saying why",
            {"by": "by", "comment": "comment"},
            ("--by", "--comment"),
        ),
    )
    for name, action, help_text, fields, flags in specs:
        parser = _parser(inner, name, _act(action, **fields), help_text)
        parser.add_argument("id", type=int, help="the alert's id (`observatory alerts list`)")
        for flag in flags:
            if flag == "--by":
                parser.add_argument("--by", help="who acts (default: the operating-system "
                                    "user; the audit trail records `via cli`)")
                continue
            optional = flag == "--comment" and action in ("acknowledge", "assign")
            parser.add_argument(
                flag, required=not optional, help=f"{flag[2:]}{' (optional)' if optional else ''}"
            )


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add `alerts ...` to the top-level commands and `alerts` to `bench`."""
    group = sub.add_parser("alerts", help="evaluate, list and act on alerts")
    inner = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    evaluate_parser = _parser(
        inner, "evaluate", alerts_evaluate, "evaluate every alert rule now and update the alerts"
    )
    _folders(evaluate_parser)
    evaluate_parser.add_argument("--now", help="evaluate as of this ISO time (default: now)")
    evaluate_parser.add_argument("--json", action="store_true", help="print JSON")
    listing = _parser(inner, "list", alerts_list, "list alerts, most severe first")
    listing.add_argument("--state", choices=ALERT_STATES, help="only alerts in this state")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    _action_commands(inner)
    rules = inner.add_parser("rules", help="the alert rule files")
    rules_inner = rules.add_subparsers(dest="rules_action", required=True, metavar="ACTION")
    _folders(
        _parser(
            rules_inner,
            "validate",
            rules_validate,
            "validate every rule file; exit 2 on any problem",
        )
    )
    bench_group = sub.choices["bench"]
    bench_sub = next(a for a in bench_group._actions if isinstance(a, argparse._SubParsersAction))
    bench = bench_sub.add_parser(
        "alerts",
        help="alert rules over indicator values: ours vs a Python loop per rule over pandas",
    )
    bench.add_argument("--rules", type=int, default=1000, help="rules (default 1,000)")
    bench.add_argument(
        "--values", type=int, default=1_000_000, help="indicator values (default 1M)"
    )
    bench.add_argument("--no-baseline", action="store_true", help="skip the pandas peer")
    bench.set_defaults(handler=bench_alerts)
