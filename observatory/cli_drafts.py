"""`observatory indicators drafts` and `observatory indicators import-draft ID`.

Drafts are made in the app (Analysts › Indicator drafts) and kept in the operational
database; `import-draft` writes one into the indicator folder as its YAML + SQL pair, for
review in version control. The next build computes it like any other definition.
"""

from __future__ import annotations

import argparse

from observatory.settings import indicators_dir, store_path


def indicators_drafts(args: argparse.Namespace) -> int:
    """List the drafts: id, name, theme, versions, who saved last and when, comments."""
    from observatory.drafts.saved import listed
    from observatory.opsdb import ops_database

    frame = listed(ops_database(store_path(args.store)))
    if frame.is_empty():
        print("no drafts yet: analysts draft indicators in the app (Indicator drafts).")
        return 0
    for row in frame.iter_rows(named=True):
        print(f"{row['id']:>4}  {row['name']:<40} {row['theme']:<14} v{row['versions']}  "
              f"{row['last_saved_by']} {row['saved_at']:%Y-%m-%d %H:%M}  "
              f"{row['comments']} comments")
    return 0


def indicators_import_draft(args: argparse.Namespace) -> int:
    """Write draft ID (its latest version, or --version) into the indicator folder."""
    from observatory.datasets import known_datasets_at
    from observatory.drafts.export import import_draft
    from observatory.drafts.saved import opened
    from observatory.opsdb import ops_database
    from observatory.registry.loader import _display

    path = store_path(args.store)
    known = known_datasets_at(path)
    version = opened(ops_database(path), args.id, args.version)
    written = import_draft(version, indicators_dir(args.indicators), known_inputs=known)
    print(f"draft {version.draft_id} version {version.version} written to "
          f"{' and '.join(_display(p) for p in written)}; review it (git diff), commit it, "
          f"and the next build computes it (now: `observatory indicators compute "
          f"{version.name}`).")
    return 0


def bench_drafts(args: argparse.Namespace) -> int:
    """Run the drafts benchmark; its JSON summary is the last line."""
    import json
    from pathlib import Path

    from observatory.bench import drafts

    store = store_path(args.store)
    print(json.dumps(drafts.main(store=store if Path(store).exists() else None,
                                 edits=args.edits, previews=args.previews)))
    return 0
