"""A draft as the pair a repository holds, and `import-draft`: the pair written into the
indicator folder for review in version control.

The exported YAML starts with a comment naming the draft, its version, who saved it and
when; the rest is exactly the saved text. An import validates the draft against the
folder it goes into (the CLI's validator: a name taken by another definition is refused
with both paths) and writes both files or neither.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from observatory.drafts.check import check_draft
from observatory.drafts.saved import DraftError, DraftVersion
from observatory.registry.loader import _display, load_registry


def header(version: DraftVersion) -> str:
    """The comment an exported definition starts with."""
    return (f"# Drafted in the app: draft {version.draft_id}, version {version.version}, saved "
            f"by {version.author} at {version.saved_at:%Y-%m-%d %H:%M} UTC.\n")


def exported(version: DraftVersion) -> dict[str, str]:
    """The pair, by file name: `<name>.yml` (with its header) and `<name>.sql`."""
    name = version.name.strip()
    return {f"{name}.yml": header(version) + version.definition,
            f"{name}.sql": version.query if version.query.endswith("\n")
            else version.query + "\n"}


def exported_zip(version: DraftVersion) -> bytes:
    """The pair in one zip archive (what the app's Export button gives)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in exported(version).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def import_draft(version: DraftVersion, folder: Path, *,
                 known_inputs: set[str] | None) -> list[Path]:
    """Write the draft's pair into `folder/<theme>/`; the two paths. DraftError (listing
    every problem, nothing written) when the draft is not valid there."""
    registry = load_registry(folder, known_inputs=known_inputs)
    check = check_draft(version.definition, version.query, registry=registry,
                        known_inputs=known_inputs)
    sql = check.target.with_suffix(".sql")
    problems = list(check.problems)
    problems += [f"{_display(path)} exists already; a draft never overwrites a file. Move it "
                 "away or rename the draft." for path in (check.target, sql) if path.exists()
                 and not any(_display(path) in p for p in problems)]
    if problems:
        raise DraftError("\n".join(
            [f"draft {version.draft_id} version {version.version}: {len(problems)} "
             f"problem{'s' if len(problems) != 1 else ''}; nothing was written:"]
            + [f"  {p}" for p in problems]))
    texts = exported(version)
    return _write_both({check.target: header(version) + version.definition,
                        sql: texts[f"{version.name.strip()}.sql"]})


def _write_both(names: dict[Path, str]) -> list[Path]:
    """Both files or neither, never over an existing file (a hard link fails if the name
    exists, even when someone creates it meanwhile); no temporary file is left."""
    for path in names:
        path.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    temporaries = []
    try:
        for path, text in names.items():
            temporary = path.with_name(f".{path.name}.importing")
            temporary.write_text(text, encoding="utf-8")
            temporaries.append(temporary)
            os.link(temporary, path)
            written.append(path)
    except FileExistsError as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise DraftError(f"{_display(Path(exc.filename))} appeared while importing; nothing "
                         "was written.") from None
    except OSError:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
    return written
