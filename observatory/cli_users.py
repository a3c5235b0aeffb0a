"""`observatory users list|grant|revoke`: who holds which role.

Grants go to the operational database (an e-mail address, or a whole domain written
`@city.example`), each recorded with who made it (`--by`, default the operating-system
user) and `via cli`; `list` shows them beside the access file's entries and the roles
people held when they last signed in. Roles in the identity provider's claim are managed
there, not here.
"""

from __future__ import annotations

import argparse
import json

from observatory.settings import store_path


def _context(args: argparse.Namespace) -> tuple[object, object]:
    from observatory.access import load_access
    from observatory.opsdb import ops_database

    return ops_database(store_path(args.store)), load_access()


def _by(args: argparse.Namespace) -> str:
    from observatory.cli_alerts import _os_user

    return args.by or _os_user()


def users_list(args: argparse.Namespace) -> int:
    """Print who holds which role and why."""
    from observatory.people import people

    ops, config = _context(args)
    frame = people(ops, config)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(frame.to_dicts(), default=str, indent=1))
    elif frame.is_empty():
        print("no roles granted: no access file entries, grants or sign-ins yet")
    else:
        for row in frame.iter_rows(named=True):
            when = row["granted_at"] or row["last_seen"]
            extra = f" by {row['granted_by']}" if row["granted_by"] else ""
            print(f"{row['who']:<32} {row['role']:<11} {row['source']}{extra}"
                  + (f" {when:%Y-%m-%d %H:%M} UTC" if when else ""))
    return 0


def users_grant(args: argparse.Namespace) -> int:
    """Grant a role; exit 2 when it is already held or the input is wrong."""
    from observatory.people import grant

    ops, _ = _context(args)
    grant(ops, args.who, args.role, by=_by(args), via="cli")  # type: ignore[arg-type]
    print(f"{args.who}: {args.role} granted by {_by(args)} (via cli)")
    return 0


def users_revoke(args: argparse.Namespace) -> int:
    """Revoke a granted role; exit 2 when there is none to revoke."""
    from observatory.people import revoke

    ops, config = _context(args)
    revoke(ops, args.who, args.role, by=_by(args), config=config)  # type: ignore[arg-type]
    print(f"{args.who}: {args.role} revoked by {_by(args)} (via cli)")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `users ...` (cli.COMMAND_MODULES)."""
    group = sub.add_parser("users", help="who holds which role: list, grant, revoke")
    inner = group.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    for name, handler, text in (("list", users_list, "who holds which role, and why"),
                                ("grant", users_grant, "grant a role to an e-mail or @domain"),
                                ("revoke", users_revoke, "revoke a granted role")):
        parser = inner.add_parser(name, help=text, description=text)
        parser.add_argument("--store", help="store file (default: $OBSERVATORY_STORE or "
                            "var/observatory.duckdb); its operational database holds grants")
        parser.set_defaults(handler=handler)
        if name == "list":
            parser.add_argument("--json", action="store_true", help="print a JSON list")
            continue
        parser.add_argument("who", help="an e-mail address, or a domain as @city.example")
        parser.add_argument("role", help="officials, operations, analysts or planners")
        parser.add_argument("--by", help="who grants (default: the operating-system user)")
